import { accessSync, constants, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';

/** What the search may look at; the defaults read this machine, tests pass their own. */
export interface ChromiumSearchSystem {
  env: Record<string, string | undefined>;
  platform: NodeJS.Platform;
  home: string;
  /** The text of /etc/os-release, where there is one. */
  osRelease: string | undefined;
  isRoot: boolean;
  isExecutableFile(path: string): boolean;
  /** A folder's entries; none when it does not exist. */
  entries(dir: string): string[];
}

export type ChromiumSearchResult = { found: true; path: string; from: string } | { found: false; message: string };

const NAMES_ON_PATH = ['chromium', 'chromium-browser', 'google-chrome', 'google-chrome-stable'];
const USUAL_PLACES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/snap/bin/chromium', '/Applications/Chromium.app/Contents/MacOS/Chromium', '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'];

/** Binaries inside one Playwright browser folder (`chromium-1234`, `chromium_headless_shell-1234`), by layout. */
const PLAYWRIGHT_BINARIES = [
  'chrome-linux/chrome',
  'chrome-linux64/chrome',
  'chrome-linux/headless_shell',
  'chrome-headless-shell-linux64/chrome-headless-shell',
  'chrome-mac/Chromium.app/Contents/MacOS/Chromium',
  'chrome-mac-arm64/Chromium.app/Contents/MacOS/Chromium',
  'chrome-headless-shell-mac-arm64/chrome-headless-shell',
  'chrome-headless-shell-mac-x64/chrome-headless-shell',
];

function playwrightCache(system: ChromiumSearchSystem): string {
  const own = system.env.PLAYWRIGHT_BROWSERS_PATH;
  if (own && own !== '0') return own;
  if (system.platform === 'darwin') return join(system.home, 'Library', 'Caches', 'ms-playwright');
  if (system.platform === 'win32') return join(system.env.LOCALAPPDATA ?? join(system.home, 'AppData', 'Local'), 'ms-playwright');
  return join(system.env.XDG_CACHE_HOME || join(system.home, '.cache'), 'ms-playwright');
}

/** Full Chromium before the headless shell, newest revision first. */
function playwrightCandidates(system: ChromiumSearchSystem): string[] {
  const cache = playwrightCache(system);
  const revision = (name: string) => Number(name.split('-').at(-1)) || 0;
  const folders = system
    .entries(cache)
    .filter((name) => /^chromium(_headless_shell)?-\d+$/.test(name))
    .sort((a, b) => Number(a.includes('headless')) - Number(b.includes('headless')) || revision(b) - revision(a));
  return folders.flatMap((folder) => PLAYWRIGHT_BINARIES.map((binary) => join(cache, folder, binary)));
}

function osReleaseIds(osRelease: string | undefined): string[] {
  if (!osRelease) return [];
  const field = (name: string) => osRelease.match(new RegExp(`^${name}=("?)([^"\\n]*)\\1$`, 'm'))?.[2] ?? '';
  return `${field('ID')} ${field('ID_LIKE')}`.toLowerCase().split(/\s+/).filter(Boolean);
}

/** The command that installs a Chromium on this system. */
export function installCommand(system: Pick<ChromiumSearchSystem, 'platform' | 'osRelease' | 'isRoot'>): string {
  const sudo = system.isRoot ? '' : 'sudo ';
  if (system.platform === 'darwin') return 'brew install --cask chromium';
  if (system.platform === 'win32') return 'winget install Hibbiki.Chromium';
  const ids = osReleaseIds(system.osRelease);
  // Ubuntu's apt package only installs the snap.
  if (ids[0] === 'ubuntu') return `${sudo}snap install chromium`;
  if (ids.includes('debian') || ids.includes('ubuntu')) return `${sudo}apt-get install -y chromium`;
  if (ids.some((id) => ['fedora', 'rhel', 'centos'].includes(id))) return `${sudo}dnf install -y chromium`;
  if (ids.some((id) => id.startsWith('opensuse') || id === 'suse')) return `${sudo}zypper install -y chromium`;
  if (ids.includes('arch')) return `${sudo}pacman -S --noconfirm chromium`;
  if (ids.includes('alpine')) return `${sudo}apk add chromium`;
  return 'pnpm --filter @strata/web exec playwright-core install chromium';
}

/**
 * The Chromium the browser tests launch: CHROMIUM_PATH, else chromium, chromium-browser or
 * google-chrome on PATH, else the usual install locations, else a Playwright browser cache.
 * Not found: one line naming the command that installs one here.
 */
export function findChromium(system: ChromiumSearchSystem = thisSystem()): ChromiumSearchResult {
  const chosen = system.env.CHROMIUM_PATH;
  if (chosen) {
    return system.isExecutableFile(chosen)
      ? { found: true, path: chosen, from: 'CHROMIUM_PATH' }
      : { found: false, message: `CHROMIUM_PATH=${chosen} is not an executable file: point it at a Chromium or Chrome binary, or unset it to search the usual places.` };
  }
  const pathDirs = (system.env.PATH ?? '').split(delimiter).filter(Boolean);
  for (const name of NAMES_ON_PATH) {
    for (const dir of pathDirs) {
      const path = join(dir, name);
      if (system.isExecutableFile(path)) return { found: true, path, from: 'PATH' };
    }
  }
  for (const path of USUAL_PLACES) if (system.isExecutableFile(path)) return { found: true, path, from: 'usual location' };
  for (const path of playwrightCandidates(system)) if (system.isExecutableFile(path)) return { found: true, path, from: 'Playwright cache' };
  return {
    found: false,
    message: `No Chromium for the browser tests (looked at CHROMIUM_PATH, ${NAMES_ON_PATH.join('/')} on PATH, /usr/bin/chromium and ${playwrightCache(system)}): install one with \`${installCommand(system)}\`, or set CHROMIUM_PATH.`,
  };
}

export function thisSystem(): ChromiumSearchSystem {
  let osRelease: string | undefined;
  try {
    osRelease = readFileSync('/etc/os-release', 'utf8');
  } catch {
    osRelease = undefined;
  }
  return {
    env: process.env,
    platform: process.platform,
    home: homedir(),
    osRelease,
    isRoot: process.getuid?.() === 0,
    isExecutableFile: (path) => {
      try {
        if (!statSync(path).isFile()) return false;
        accessSync(path, constants.X_OK);
        return true;
      } catch {
        return false;
      }
    },
    entries: (dir) => {
      try {
        return readdirSync(dir);
      } catch {
        return [];
      }
    },
  };
}
