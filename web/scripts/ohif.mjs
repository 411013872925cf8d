// OHIF's prebuilt viewer into dist/viewer/: the package's tarball from the npm registry
// (pinned by version and integrity in ohif/release.json), its dist/ moved under /viewer/,
// and our app-config.js. Run after `vite build`.
//
// The tarball comes by `npm pack`, not as a dependency: @ohif/app declares dependencies that
// are not all published (it is an application, its dist/ is all it needs), so it cannot be
// installed from a lock. The integrity check makes the download as reproducible as `npm ci`.

import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = join(dirname(fileURLToPath(import.meta.url)), '..');
const release = JSON.parse(readFileSync(join(web, 'ohif', 'release.json'), 'utf8'));
const cache = join(web, '.cache');
const tarball = join(cache, `ohif-app-${release.version}.tgz`);
const target = join(web, 'dist', 'viewer');
const BASE = '/viewer/';

function integrity(path) {
  return 'sha512-' + createHash('sha512').update(readFileSync(path)).digest('base64');
}

function fetchTarball() {
  if (existsSync(tarball) && integrity(tarball) === release.integrity) return;
  mkdirSync(cache, { recursive: true });
  const spec = `${release.package}@${release.version}`;
  execFileSync('npm', ['pack', spec, '--pack-destination', cache, '--silent'], { stdio: 'inherit' });
  const got = integrity(tarball);
  if (got !== release.integrity) {
    rmSync(tarball);
    throw new Error(`${spec}: integrity ${got} is not the pinned ${release.integrity}`);
  }
}

function replaceAll(path, from, to, atLeast) {
  const text = readFileSync(path, 'utf8');
  const count = text.split(from).length - 1;
  if (count < atLeast) throw new Error(`${path}: expected ${from} at least ${atLeast} time(s), found ${count}`);
  writeFileSync(path, text.replaceAll(from, to));
  return count;
}

fetchTarball();
const unpacked = join(cache, 'unpacked');
rmSync(unpacked, { recursive: true, force: true });
mkdirSync(unpacked, { recursive: true });
execFileSync('tar', ['xzf', tarball, '-C', unpacked, 'package/dist']);
rmSync(target, { recursive: true, force: true });
renameSync(join(unpacked, 'package', 'dist'), target);
rmSync(unpacked, { recursive: true, force: true });

// the build is made for the site's root: its pages, and webpack's public path, move to /viewer/
const index = join(target, 'index.html');
replaceAll(index, 'window.PUBLIC_URL="/"', `window.PUBLIC_URL="${BASE}"`, 1);
replaceAll(index, ' src="/', ` src="${BASE}`, 1);
replaceAll(index, ' href="/', ` href="${BASE}`, 1);
let bundles = 0;
for (const name of readdirSync(target).filter((n) => n.endsWith('.js'))) {
  const path = join(target, name);
  if (readFileSync(path, 'utf8').includes('__webpack_require__.p = "/";')) {
    bundles += replaceAll(path, '__webpack_require__.p = "/";', `__webpack_require__.p = "${BASE}";`, 1);
  }
}
if (bundles === 0) throw new Error('no webpack public path found in the OHIF bundles');
for (const name of readdirSync(target).filter((n) => n.endsWith('.css'))) {
  const path = join(target, name);
  if (readFileSync(path, 'utf8').includes('url(/')) replaceAll(path, 'url(/', `url(${BASE}`, 1);
}
for (const unused of ['_headers', '_redirects', 'serve.json', 'google.js']) {
  rmSync(join(target, unused), { force: true });
}
cpSync(join(web, 'ohif', 'app-config.js'), join(target, 'app-config.js'));
console.log(`OHIF ${release.version} in ${target} (public path ${BASE}, ${bundles} bundles)`);
