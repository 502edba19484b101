// HTTP endpoints of the coordinator: liveness, readiness, Prometheus metrics, and a JSON view
// of the federation and its rounds.
import type { Express } from 'express';

import type { Coordinator } from './coordinator.js';
import { mountMetricsEndpoint } from './coordinator-metrics.js';

export function mountHttpApi(app: Express, coordinator: Coordinator): void {
  app.get('/healthz', (_request, response) => {
    response.json({ ok: true });
  });

  // Ready while the coordinator accepts clients; 503 once it is stopping.
  app.get('/readyz', (_request, response) => {
    const ready = coordinator.ready;
    response.status(ready ? 200 : 503).json({ ready, state: coordinator.status().state });
  });

  mountMetricsEndpoint(app, coordinator.metrics);

  app.get('/api/status', (_request, response) => {
    response.json(coordinator.status());
  });

  app.get('/api/rounds', (_request, response) => {
    response.json(coordinator.roundSummaries());
  });

  app.get('/api/rounds/:roundId', (request, response) => {
    const roundId = Number(request.params.roundId);
    const round = coordinator.roundSummaries().find((summary) => summary.roundId === roundId);
    if (round === undefined) {
      response.status(404).json({ error: `Round "${request.params.roundId}" not found; GET /api/rounds lists the rounds.` });
      return;
    }
    response.json(round);
  });
}
