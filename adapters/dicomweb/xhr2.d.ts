// Minimal typings for the npm package xhr2 (an XMLHttpRequest for Node); it ships none.
declare module 'xhr2' {
  class XMLHttpRequest {
    timeout: number;
    readonly status: number;
    readonly readyState: number;
    setRequestHeader(name: string, value: string): void;
    send(data?: unknown): void;
    /** xhr2 internal: called with the node:http error when a request fails without an answer. */
    _onHttpRequestError(request: unknown, error: unknown): void;
    /** xhr2 internal: called with each HTTP answer; follows 3xx itself (to any host, with every header). */
    _onHttpResponse(request: unknown, response: import('node:http').IncomingMessage): void;
    /** xhr2 internal: the URL of the request in flight (after redirects), as url.parse gives it. */
    _url?: { href?: string };
    nodejsSet(options: { httpAgent?: import('node:http').Agent; httpsAgent?: import('node:https').Agent }): void;
  }
  export = XMLHttpRequest;
}
