// HTTP endpoints of the coordinator: liveness and a JSON view of the federation.
import type { Express } from 'express';

import type { Coordinator } from './coordinator.js';

export function mountHttpApi(app: Express, coordinator: Coordinator): void {
  app.get('/healthz', (_request, response) => {
    response.json({ ok: true });
  });

  app.get('/api/status', (_request, response) => {
    response.json(coordinator.status());
  });

  app.get('/api/rounds', (_request, response) => {
    response.json(coordinator.roundSummaries());
  });
}
