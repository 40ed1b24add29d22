// The CLI's former entry point, kept so `tsx cli/cluster.ts <command>` still works: the CLI is cli/main.ts.
import { runProgram } from './main.js';

void runProgram();
