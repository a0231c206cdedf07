/**
 * Outbound calls go only to the configured base URLs. A URL that comes from a response (a FHIR Bundle's next link,
 * a QIDO RetrieveURL or BulkDataURI, an Orthanc answer) is followed only when it lies below the configured base:
 * same scheme, host and port, and a path under the base path. Otherwise a hostile or confused server could send the
 * service, with its credentials, to any host (SSRF).
 */
export function isUnderBaseUrl(candidate: string, base: string): boolean {
  let url: URL;
  let root: URL;
  try {
    root = new URL(base);
    url = new URL(candidate, root);
  } catch {
    return false;
  }
  if (url.origin !== root.origin || url.username !== '' || url.password !== '') return false;
  const basePath = root.pathname.endsWith('/') ? root.pathname : `${root.pathname}/`;
  // Compare the normalised paths: URL() has already resolved "." and ".." segments.
  return url.pathname === root.pathname || url.pathname.startsWith(basePath);
}
