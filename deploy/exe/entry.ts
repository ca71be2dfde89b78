// Entry point of the single-file agent executables (bundled by deploy/exe/build.ts).
import { exeMain } from '../../agent/exe.js';

void exeMain(process.argv).then((code) => {
  process.exitCode = code;
});
