export { seedDemo, DEMO_EMAIL } from './demo.ts';
export { supervise, type AppSpec } from './supervisor.ts';
