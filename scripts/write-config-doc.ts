// Regenerates docs/configuration.md from the configuration schema.
import { writeFileSync } from 'node:fs';
import { renderConfigDoc } from '@kiosk/common';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderConfigDoc());
process.stdout.write('wrote docs/configuration.md\n');
