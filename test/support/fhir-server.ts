import type { AddressInfo } from 'node:net';
import express from 'express';
import { createEmbeddedFhirApp, type EmbeddedFhir } from '../../adapters/fhir-embedded/embedded-fhir-app';

export interface TestFhirServer {
  /** e.g. http://127.0.0.1:41234/fhir */
  baseUrl: string;
  fhir: EmbeddedFhir;
  stop(): Promise<void>;
}

/** Starts the embedded FHIR store on a free loopback port, standing in for "the hospital's FHIR server". */
export async function startFhirServer(options: { dataFile?: string } = {}): Promise<TestFhirServer> {
  const fhir = await createEmbeddedFhirApp(options);
  const app = express();
  app.use('/fhir', fhir.router);
  const server = await new Promise<import('node:http').Server>((resolve, reject) => {
    const s = app.listen(0, '127.0.0.1', (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/fhir`,
    fhir,
    stop: async () => {
      await fhir.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
