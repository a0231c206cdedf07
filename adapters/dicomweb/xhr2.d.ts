// Minimal typings for the npm package xhr2 (an XMLHttpRequest for Node); it ships none.
declare module 'xhr2' {
  class XMLHttpRequest {
    timeout: number;
    readonly status: number;
    readonly readyState: number;
    setRequestHeader(name: string, value: string): void;
  }
  export = XMLHttpRequest;
}
