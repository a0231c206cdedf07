/**
 * DICOM DA/TM to FHIR date/dateTime. FHIR requires a timezone whenever a time is given, and DICOM stores local
 * time without one (TimezoneOffsetFromUTC is rare), so the time is kept only when the caller knows the offset;
 * otherwise the result is the date alone, which is a valid (less precise) dateTime.
 */

const DA = /^(\d{4})(\d{2})(\d{2})$/;
const TM = /^(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?$/;
const OFFSET = /^(Z|[+-](?:0\d|1[0-4]):[0-5]\d)$/;

/** "YYYYMMDD" (also "YYYY.MM.DD", an old form) → "YYYY-MM-DD", or undefined when it is not a real date. */
export function fhirDate(da: string | undefined): string | undefined {
  const m = DA.exec((da ?? '').trim().replace(/\./g, ''));
  if (!m) return undefined;
  const [, y, mo, d] = m;
  const date = new Date(Date.UTC(Number(y), Number(mo) - 1, Number(d)));
  if (date.getUTCMonth() !== Number(mo) - 1 || date.getUTCDate() !== Number(d)) return undefined;
  return `${y}-${mo}-${d}`;
}

/** "HHMMSS.ffffff" (minutes and seconds optional, old "HH:MM:SS" accepted) → "hh:mm:ss[.fff]". */
export function fhirTime(tm: string | undefined): string | undefined {
  const m = TM.exec((tm ?? '').trim().replace(/:/g, ''));
  if (!m) return undefined;
  const [, hh = '00', mm = '00', ss = '00', frac] = m;
  if (Number(hh) > 23 || Number(mm) > 59 || Number(ss) > 60) return undefined;
  return `${hh}:${mm}:${ss === '60' ? '59' : ss}${frac ? `.${frac}` : ''}`;
}

/**
 * Study date and time as a FHIR dateTime: with the time only when `timezoneOffset` ("Z", "+01:00") is known,
 * else the date alone; undefined when the date is absent or invalid.
 */
export function fhirDateTime(da: string | undefined, tm: string | undefined, timezoneOffset?: string): string | undefined {
  const date = fhirDate(da);
  if (!date) return undefined;
  const time = fhirTime(tm);
  if (!time || !timezoneOffset || !OFFSET.test(timezoneOffset)) return date;
  return `${date}T${time}${timezoneOffset}`;
}

/** FHIR instant (always with seconds and zone). */
export function fhirInstant(d: Date): string {
  return d.toISOString();
}
