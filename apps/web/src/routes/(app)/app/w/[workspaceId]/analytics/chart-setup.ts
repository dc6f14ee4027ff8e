/**
 * Chart.js with only the parts the analytics page draws (bar and line charts on category and
 * linear scales), loaded in the browser only: the page imports this module when a chart mounts.
 */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, LineController, LineElement, PointElement, Tooltip } from 'chart.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, LineController, LineElement, PointElement, Legend, Tooltip);
Chart.defaults.color = '#8b98a5';
Chart.defaults.borderColor = '#26313d';
Chart.defaults.animation = false;

export { Chart };
