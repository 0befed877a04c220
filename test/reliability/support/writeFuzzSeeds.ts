// Writes the seed archives of tarFuzz.ts into the directory argv[2]: the
// starting corpus of the libFuzzer targets (scripts/fuzz.sh).
import { writeFileSync } from 'node:fs';
import path from 'node:path';

import { seedTars } from './tarFuzz';

seedTars().forEach((tar, i) => writeFileSync(path.join(process.argv[2], `seed-${i}.tar`), tar));
