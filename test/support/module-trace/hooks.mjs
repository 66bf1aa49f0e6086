// Module hooks (run off the main thread by node:module register): report each module's URL as it loads.
let port;
export function initialize(data) {
  port = data.port;
}
export async function load(url, context, nextLoad) {
  port.postMessage(url);
  return nextLoad(url, context);
}
