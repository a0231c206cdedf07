import type { FhirSink } from '../ports/fhir-sink';
import type { ImagingSource } from '../ports/imaging-source';
import type { ImagingStore } from '../ports/imaging-store';
import type { DependencyBreaker } from './dependency-breaker';

/**
 * The ports the pipeline uses, behind their system's breaker: while it is open a call fails at once with the outage
 * error (no connection attempt, no timeout to sit out). Health checks (ping) are not guarded: they are how the
 * breaker and /readyz find out the system is back.
 */
export function guardSource(source: ImagingSource, breaker: DependencyBreaker): ImagingSource {
  return {
    getStudy: async (uid, origin) => (breaker.guard(), await source.getStudy(uid, origin)),
    retrieveInstances: async (study, series, sops, origin) => (breaker.guard(), await source.retrieveInstances(study, series, sops, origin)),
    ping: () => source.ping(),
  };
}

export function guardStore(store: ImagingStore, breaker: DependencyBreaker): ImagingStore {
  const guarded: ImagingStore = {
    store: async (study, instances) => (breaker.guard(), await store.store(study, instances)),
    ping: () => store.ping(),
  };
  const remove = store.deleteInstance?.bind(store);
  if (remove) guarded.deleteInstance = async (study, series, sop) => (breaker.guard(), await remove(study, series, sop));
  return guarded;
}

export function guardFhir(fhir: FhirSink, breaker: DependencyBreaker): FhirSink {
  return {
    writeTransaction: async (key, bundle) => (breaker.guard(), await fhir.writeTransaction(key, bundle)),
    updateResource: async (reference, change) => (breaker.guard(), await fhir.updateResource(reference, change)),
    reportsForStudy: async (uid) => (breaker.guard(), await fhir.reportsForStudy(uid)),
    ping: () => fhir.ping(),
  };
}
