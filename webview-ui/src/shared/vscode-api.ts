// The webview side of the contract: VS Code's webview API, typed by the panel's messages.
import type { WebviewApi } from '../../../src/webview-contract';

declare function acquireVsCodeApi<ToHost, State>(): WebviewApi<ToHost, State>;

/** Call once per page (VS Code allows one acquire). */
export function connect<ToHost, State>(): WebviewApi<ToHost, State> {
  return acquireVsCodeApi<ToHost, State>();
}

/** Typed handler for messages from the extension. */
export function onHostMessage<ToWebview>(handle: (m: ToWebview) => void): void {
  window.addEventListener('message', (event: MessageEvent<ToWebview>) => {
    if (event.data && typeof event.data === 'object' && 'type' in (event.data as object)) handle(event.data);
  });
}
