/**
 * How every browser run here launches Chromium: Debian's package (scripts/ensure-chromium.sh
 * installs it), never a download, with the background networking that this machine's closed
 * network would refuse turned off. Shared by playwright.config.ts and the browser benchmark.
 */
export const CHROMIUM_LAUNCH_OPTIONS = {
  executablePath: '/usr/bin/chromium',
  args: [
    '--disable-background-networking',
    '--disable-component-update',
    '--disable-sync',
    '--disable-quic',
    '--no-first-run',
    '--no-sandbox',
  ],
};
