export { SessionHealthIndicator } from './health/session-health.indicator.js';
