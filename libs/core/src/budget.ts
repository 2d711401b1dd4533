import { Schema } from "effect"

/** A share of the annotated slices, in (0, 1]. */
export const LabelFraction = Schema.Finite.check(Schema.isGreaterThan(0), Schema.isLessThanOrEqualTo(1))
/** Every k-th slice, k ≥ 1. */
export const LabelEveryK = Schema.Int.check(Schema.isGreaterThanOrEqualTo(1))

/**
 * How many annotated slices fine-tuning labels — the one vocabulary from finetune's params to the
 * report: a seeded random `fraction` of the annotated slices, or `everyK`: every k-th slice.
 */
export const LabelBudget = Schema.Union([Schema.Struct({ fraction: LabelFraction }), Schema.Struct({ everyK: LabelEveryK })])
export type LabelBudget = typeof LabelBudget.Type

/**
 * The budget as artifacts and tables store it, two columns of which exactly one is non-null (tidy
 * rows: a CSV has a `fraction` and an `everyK` column).
 */
export const budgetColumns = {
  /** Share of the annotated slices labeled (1 = all), or null when `everyK` was used. */
  fraction: Schema.NullOr(Schema.Number),
  /** Every k-th slice labeled, or null when `fraction` was used. */
  everyK: Schema.NullOr(Schema.Number)
}
export interface BudgetColumns {
  readonly fraction: number | null
  readonly everyK: number | null
}

export const toBudgetColumns = (budget: LabelBudget): BudgetColumns =>
  "fraction" in budget ? { fraction: budget.fraction, everyK: null } : { fraction: null, everyK: budget.everyK }

/** "10 %", "every 5th": a budget as a column header or a log line. */
export const budgetLabel = (b: BudgetColumns): string =>
  b.fraction !== null ? `${+(100 * b.fraction).toPrecision(3)} %` : `every ${b.everyK}th`

/** Orders budgets by how much they label (every k-th ranks as 1/k). */
export const budgetOrder = (b: BudgetColumns): number => (b.fraction !== null ? b.fraction : 1 / (b.everyK ?? 1))
