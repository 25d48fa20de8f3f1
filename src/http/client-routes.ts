/**
 * `GET /v1/clients` (behind the /v1 bearer token, like the rest of the admin
 * API): every client registration — identity, address of record, contact,
 * transport, where it registered from, expiry, and whether the client is in
 * a call.
 */
import type { FastifyPluginCallback } from 'fastify';
import type { ClientsView } from '../clients/client-domain.js';

export const clientRoutes: FastifyPluginCallback<{ clients: ClientsView | undefined }> = (app, opts, done) => {
  const clients = opts.clients;
  if (clients !== undefined) {
    app.get('/clients', () => {
      const registrations = clients.registrations();
      return { count: registrations.length, registrations };
    });
  }
  done();
};
