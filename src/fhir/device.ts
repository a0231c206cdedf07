import type { Device, Identifier } from '@medplum/fhirtypes';
import type { ModelManifest } from '../domain/manifest';
import { SYSTEMS } from './identifiers';

/** The model as a Device; one per model id and version, shared by all its jobs. */
export function deviceIdentifier(model: ModelManifest): Identifier {
  return { system: SYSTEMS.model, value: `${model.id}@${model.version}` };
}

export function buildDevice(model: ModelManifest, modelDigest: string): Device {
  return {
    resourceType: 'Device',
    identifier: [deviceIdentifier(model), { system: SYSTEMS.modelDigest, value: `sha256:${modelDigest}` }],
    status: 'active',
    manufacturer: model.manufacturer,
    deviceName: [
      { name: model.name, type: 'model-name' },
      { name: model.id, type: 'other' },
    ],
    type: { text: 'AI model (software)' },
    version: [{ value: model.version }],
    note: [{ text: model.intendedUse }],
  };
}
