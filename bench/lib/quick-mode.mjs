// How a run reports against the targets. The targets were set for the full run's sizes, rounds
// and durations; a quick run (`npm run bench -- --quick`) measures smaller sizes for less time,
// so its figures are not comparable with them and it judges none: every verdict reads "not
// comparable", and its results say why, at the top and above the targets table.

/** The verdict a quick run gives in place of met or missed. */
export const NOT_COMPARABLE = 'not comparable (quick run)';

/** The paragraph a quick run's results and console output open with. */
export const QUICK_DISCLAIMER =
  'Quick run: smaller sizes, fewer rounds and shorter runs than the targets were set for, so ' +
  'these figures are not comparable with the targets and no target is judged. Run `npm run ' +
  'bench` (without --quick) for figures to compare with them.';

/**
 * The verdict on one target: met, missed, – when there is none, or not comparable in a quick
 * run.
 * @param {boolean | undefined} ok whether the measured figure meets the target
 * @param {boolean} quick whether this is a quick run
 * @returns {string}
 */
export function verdict(ok, quick) {
  if (quick) return NOT_COMPARABLE;
  return ok === undefined ? '–' : ok ? 'met' : '**missed**';
}

/**
 * The console lines of the targets: one per target, after the disclaimer in a quick run.
 * @param {{ scenario: string, measured: string, goal: string, ok: boolean }[]} targets
 * @param {boolean} quick whether this is a quick run
 * @returns {string[]}
 */
export function targetLines(targets, quick) {
  if (quick) {
    return [
      QUICK_DISCLAIMER,
      ...targets.map(
        (t) => `n/c     ${t.scenario}: ${t.measured} (target ${t.goal}, not comparable)`,
      ),
    ];
  }
  return targets.map(
    (t) => `${t.ok ? 'met    ' : 'MISSED '} ${t.scenario}: ${t.measured} (target ${t.goal})`,
  );
}
