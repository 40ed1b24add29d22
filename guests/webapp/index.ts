/**
 * The tenant web app guest (tests/demo/vm-webapp.test.ts): Debian's
 * essential set plus Node 18 and our web app (services/webapp, bundled on
 * the host), booted by the node's guest kernel and initrd into
 * files/usr/lib/ultracloud/webapp/init. No systemd, no getty, no sshd:
 * the app is the guest's only service, its console the log.
 */
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { GuestImageDef } from '../../harness/image/guest.js';
import { bundledService } from '../../services/bundled.js';

const here = path.dirname(fileURLToPath(import.meta.url));

export const WEBAPP_INIT = '/usr/lib/ultracloud/webapp/init';
/** The port the app listens on inside the guest (its config's listen.port). */
export const WEBAPP_PORT = 8080;

export const webappGuest: GuestImageDef = {
  name: 'webapp',
  variant: 'essential',
  packages: ['nodejs', 'mount'],
  filesDir: path.join(here, 'files'),
  customizeScript: path.join(here, 'customize.sh'),
  generated: bundledService('webapp', 'usr/lib/ultracloud/webapp/webapp.js'),
  sizeMiB: 512,
};
