import pino from 'pino';

export type Logger = pino.Logger;

/**
 * JSON logs. Callers log internal ids and UID hashes (domain/identity.logHash), never patient data; as a second
 * line of defence, keys that commonly carry patient data are redacted wherever they appear.
 */
export function createLogger(options: { level?: string; destination?: pino.DestinationStream } = {}): Logger {
  const base = {
    level: options.level ?? process.env.CLINICAL_AI_LOG_LEVEL ?? 'info',
    base: { service: 'clinical-ai' },
    redact: {
      paths: [
        'PatientName', '*.PatientName', 'patientName', '*.patientName',
        'PatientID', '*.PatientID', 'patientId', '*.patientId',
        'PatientBirthDate', '*.PatientBirthDate', 'patientBirthDate', '*.patientBirthDate',
        'authorization', '*.authorization', 'password', '*.password',
      ],
      censor: '[redacted]',
    },
  };
  return options.destination ? pino(base, options.destination) : pino(base);
}

/** A logger that writes nothing (tests, library use). */
export const silentLogger: Logger = pino({ level: 'silent' });
