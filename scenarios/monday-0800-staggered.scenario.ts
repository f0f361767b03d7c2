// The mitigation what-if: the same Monday, with classes joining in staggered slots instead of all at 8:00.
import type { Phase, Scenario } from './model.js';
import { monday0800 } from './monday-0800.scenario.js';

const SLOTS = 5;
/** Slots are 20 s apart here, a compressed stand-in for the minutes schools staggered classes by. */
const SLOT_SPACING_MS = 20_000;

const burst = monday0800.phases.find((p) => p.name === 'burst')!;

/**
 * monday-0800 with the 100,000 joins split into five slots of 20,000 (e.g. by year group), each within
 * 10 s, 20 s apart; baseline and late joiners as in monday-0800.
 */
export const monday0800Staggered: Scenario = {
  ...monday0800,
  name: 'monday-0800-staggered',
  description: 'monday-0800 with the 100,000 joins staggered in five slots of 20,000, 20 s apart (the advice given in 2021).',
  phases: [
    ...monday0800.phases.filter((p) => p !== burst),
    ...Array.from({ length: SLOTS }, (_, i): Phase => ({ ...burst, name: `slot ${i + 1}`, startMs: i * SLOT_SPACING_MS, participants: burst.participants / SLOTS })),
  ],
};
