import Ajv, { type ErrorObject } from 'ajv';
import express, { type Router } from 'express';
import { requireRole } from './auth/authorize';
import { AppError } from '../domain/errors';
import type { LoadedModel } from '../domain/manifest';
import type { StudyInfo } from '../domain/study';
import type { ImagingSource } from '../ports/imaging-source';
import { dryRunStudy } from '../routing/dry-run';
import type { RouteRule } from '../routing/route-rules';

export interface RouteDryRunDeps {
  models: readonly LoadedModel[];
  routes?: readonly RouteRule[];
  /** Where { studyInstanceUid } bodies are looked up; absent: only { study } bodies are accepted. */
  source?: ImagingSource;
}

const UID = { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)*$', maxLength: 64 };
const text = { type: 'string', maxLength: 1024 };
const num = { type: 'number' };

/** StudyInfo as JSON (src/domain/study.ts); unknown keys are ignored, known ones must have their type. */
const bodySchema = {
  type: 'object',
  additionalProperties: false,
  properties: {
    studyInstanceUid: UID,
    study: {
      type: 'object',
      required: ['studyInstanceUid', 'series'],
      properties: {
        studyInstanceUid: UID,
        studyDescription: text,
        series: {
          type: 'array',
          maxItems: 5000,
          items: {
            type: 'object',
            required: ['seriesInstanceUid', 'modality', 'instances'],
            properties: {
              seriesInstanceUid: UID,
              modality: { type: 'string', maxLength: 16 },
              seriesNumber: num,
              seriesDescription: text,
              bodyPartExamined: text,
              imageType: { type: 'array', maxItems: 32, items: text },
              protocolName: text,
              manufacturer: text,
              manufacturerModelName: text,
              stationName: text,
              contrastBolusAgent: text,
              sliceThickness: num,
              pixelSpacing: { type: 'array', minItems: 2, maxItems: 2, items: num },
              instances: {
                type: 'array',
                maxItems: 100_000,
                items: {
                  type: 'object',
                  required: ['sopInstanceUid', 'sopClassUid'],
                  properties: {
                    sopInstanceUid: UID,
                    sopClassUid: UID,
                    instanceNumber: num,
                    imagePositionPatient: { type: 'array', minItems: 3, maxItems: 3, items: num },
                    imageOrientationPatient: { type: 'array', minItems: 6, maxItems: 6, items: num },
                    numberOfFrames: { type: 'integer', minimum: 1 },
                    rows: { type: 'integer', minimum: 1 },
                    columns: { type: 'integer', minimum: 1 },
                  },
                },
              },
            },
          },
        },
      },
    },
    event: {
      type: 'object',
      additionalProperties: false,
      properties: { source: { type: 'string', minLength: 1, maxLength: 64 }, callingAeTitle: { type: 'string', maxLength: 16 } },
    },
  },
};

interface DryRunBody {
  studyInstanceUid?: string;
  study?: StudyInfo;
  event?: { source?: string; callingAeTitle?: string };
}

const ajv = new Ajv({ allErrors: false, strict: true });
const validateBody = ajv.compile<DryRunBody>(bodySchema);

function describe(e: ErrorObject): string {
  const where = `body${e.instancePath.replace(/\//g, '.')}`;
  if (e.keyword === 'additionalProperties') return `${where} has unknown property "${String((e.params as { additionalProperty?: string }).additionalProperty)}"`;
  return `${where} ${e.message ?? 'is invalid'}`;
}

/**
 * POST /route/dry-run: which models would run on which series of a study, and why the others would not.
 * Body: { "studyInstanceUid": "…" } (looked up in the imaging source) or { "study": <StudyInfo> }, optionally with
 * "event": { "source", "callingAeTitle" } for route rules that test the intake. Creates no job.
 */
export function routeDryRunRouter(deps: RouteDryRunDeps): Router {
  const router = express.Router();
  router.post('/route/dry-run', requireRole('operator'), express.json({ limit: '16mb' }), async (req, res) => {
    const body: unknown = req.body;
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new AppError('BAD_REQUEST', 'send a JSON object with "studyInstanceUid" or "study" (Content-Type: application/json)');
    }
    if (!validateBody(body)) throw new AppError('BAD_REQUEST', (validateBody.errors ?? []).map(describe).join('; '));
    if ((body.studyInstanceUid === undefined) === (body.study === undefined)) {
      throw new AppError('BAD_REQUEST', 'give exactly one of "studyInstanceUid" (looked up in the PACS) or "study" (StudyInfo JSON)');
    }
    let study: StudyInfo;
    if (body.study) study = body.study;
    else {
      if (!deps.source) throw new AppError('BAD_REQUEST', 'this service has no imaging source to look studies up; send { "study": … } instead');
      // The event's source picks where a pushed study is read (a source router sends stow/dimse to the received files).
      const origin = body.event?.source !== undefined ? { source: body.event.source } : undefined;
      study = await deps.source.getStudy(body.studyInstanceUid as string, origin);
    }
    res.json(dryRunStudy(study, deps.models, deps.routes ?? [], body.event ?? {}));
  });
  return router;
}
