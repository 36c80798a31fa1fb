import type { IncomingMessage, ServerResponse } from 'node:http';
import { Controller, Get, Inject, Req, Res } from '@nestjs/common';
import type { PrometheusExporter } from '@opentelemetry/exporter-prometheus';
import { SkipSession } from 'nestjs-mesh-session';

/** Injection token of the sample's Prometheus exporter. */
export const METRICS_EXPORTER = Symbol('METRICS_EXPORTER');

/**
 * `GET /metrics`: what Prometheus scrapes, in its text format, from the exporter registered
 * before the app started. Not guarded: keep it on an internal port or network in production.
 */
@SkipSession()
@Controller('metrics')
export class MetricsController {
  constructor(@Inject(METRICS_EXPORTER) private readonly exporter: PrometheusExporter) {}

  @Get()
  scrape(@Req() request: IncomingMessage, @Res() response: ServerResponse): void {
    this.exporter.getMetricsRequestHandler(request, response);
  }
}
