/**
 * Which of a stack's roles each topology profile boots (all when absent):
 * the storage profile, for the storage bench, only the roles it measures.
 * Light on purpose (no stack loaded), for the CLI's usage messages.
 */
import type { ProfileName } from '../harness/topology.js';

export const PROFILE_ROLES: Partial<Record<ProfileName, string[]>> = {
  storage: ['base', 'coronafs', 'lightningstor'],
};
