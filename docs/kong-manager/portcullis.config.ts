// Kong Manager's Playwright config, run with Debian's chromium against Portcullis (docs/kong-manager.md in Portcullis).
// Timeouts are raised (KM_SLOW=1 by default): the shared 2-core machine it was run on is heavily loaded.
import base from './playwright.config'
const slow = (process.env.KM_SLOW ?? '1') === '1'
export default {
  ...base,
  reporter: [['list'], ['json', { outputFile: process.env.KM_JSON_REPORT ?? './test-results/portcullis.json' }]],
  ...(slow ? { timeout: 120_000, expect: { timeout: 20_000 } } : {}),
  use: {
    ...base.use,
    ...(slow ? { actionTimeout: 20_000, navigationTimeout: 60_000 } : {}),
    launchOptions: { executablePath: process.env.KM_CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] },
  },
}
