/** Entry point of the bundle (build.ts): /usr/lib/ultracloud/creditservice/creditservice.js on node06. */
import { runService } from './service.js';

runService(process.env).catch((err: unknown) => {
  process.stderr.write(`creditservice: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
