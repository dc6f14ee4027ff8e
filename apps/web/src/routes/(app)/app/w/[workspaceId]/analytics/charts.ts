import type { ChartConfiguration } from 'chart.js';

/** The page's colours (app.css), for the canvas, which cannot read CSS variables. */
const COLOURS = { completed: '#7ee787', failed: '#ff7b72', cancelled: '#8b98a5', health: '#5ccfe6', average: '#79c0ff', p95: '#e3b341' } as const;

type Day = { date: string; completed: number; failed: number; cancelled: number; averageHealth: number | null };
type Agent = { agentType: string; averageMs: number; p95Ms: number };

/** Finished executions per day, stacked by final status. */
export function executionsChart(days: readonly Day[]): ChartConfiguration<'bar'> {
  const dataset = (status: 'completed' | 'failed' | 'cancelled') => ({ label: status, data: days.map((d) => d[status]), backgroundColor: COLOURS[status], stack: 'finished' });
  return {
    type: 'bar',
    data: { labels: days.map((d) => d.date), datasets: [dataset('completed'), dataset('failed'), dataset('cancelled')] },
    options: {
      maintainAspectRatio: false,
      scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true, ticks: { precision: 0 }, title: { display: true, text: 'executions' } } },
    },
  };
}

/** The average final health score per day; a day without executions is a gap. */
export function healthChart(days: readonly Day[]): ChartConfiguration<'line'> {
  return {
    type: 'line',
    data: {
      labels: days.map((d) => d.date),
      datasets: [{ label: 'average health', data: days.map((d) => d.averageHealth), borderColor: COLOURS.health, backgroundColor: COLOURS.health, spanGaps: false, pointRadius: 3 }],
    },
    options: { maintainAspectRatio: false, scales: { y: { min: 0, max: 100, title: { display: true, text: 'health score' } } } },
  };
}

/** Average and p95 task duration per agent type, in seconds. */
export function durationsChart(agents: readonly Agent[]): ChartConfiguration<'bar'> {
  return {
    type: 'bar',
    data: {
      labels: agents.map((a) => a.agentType),
      datasets: [
        { label: 'average', data: agents.map((a) => a.averageMs / 1000), backgroundColor: COLOURS.average },
        { label: 'p95', data: agents.map((a) => a.p95Ms / 1000), backgroundColor: COLOURS.p95 },
      ],
    },
    options: { maintainAspectRatio: false, scales: { y: { beginAtZero: true, title: { display: true, text: 'seconds' } } } },
  };
}
