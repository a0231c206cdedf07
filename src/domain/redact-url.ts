/**
 * Removes the userinfo part (`user:password@`) of every URL in a text, so a configured URL such as
 * `orthanc:http://svc:s3cret@pacs:8042` can be logged, put in an error or shown by /readyz without its password.
 * Works on a bare URL, a prefixed config value and free text with URLs inside.
 */
export function stripUrlCredentials(text: string): string {
  return text.replace(/(\b[a-z][a-z0-9+.-]*:\/\/)[^/?#\s@]*@/gi, '$1');
}

/** The `user:password` of the first URL in a text, decoded; undefined when it has none. */
export function urlCredentials(text: string): { username: string; password: string } | undefined {
  const match = /\b[a-z][a-z0-9+.-]*:\/\/([^/?#\s@]*)@/i.exec(text);
  if (!match?.[1]) return undefined;
  const [user = '', ...rest] = match[1].split(':');
  const decode = (s: string): string => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return { username: decode(user), password: decode(rest.join(':')) };
}
