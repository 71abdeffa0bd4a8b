// The one entry point of static/vendor/yjs/yjs-bundle.js (built by `npm run build`, see
// static/vendor/README.md): Yjs, the y-websocket client provider and the awareness
// protocol, exposed as window.SignonYjs for static/js/live.js. Nothing else lives here.
import * as Y from "yjs";
import { WebsocketProvider } from "y-websocket";
import * as awarenessProtocol from "y-protocols/awareness";

export { Y, WebsocketProvider, awarenessProtocol };
