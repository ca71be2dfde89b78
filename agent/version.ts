import pkg from '../package.json' with { type: 'json' };

/** This agent's version, from package.json (the bundler inlines it into the single-file executable). */
export const AGENT_VERSION: string = pkg.version;
