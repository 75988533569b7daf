//! Mixed-precision search: a weight width per layer, chosen under a hardware budget.
//!
//! For each weight scheme searched, [`search`]
//!
//! 1. measures **per-layer sensitivity**: the network with every layer at the scheme's widest
//!    candidate width (the *base*), then, for each layer with weights and each narrower
//!    candidate, the network with only that layer narrowed. A candidate's *drop* is the base's
//!    accuracy minus its own, counted as 0 when the narrower layer measures more accurate (the
//!    difference is then noise of the test split, not a gain to plan on); its *cost* is its
//!    change of each budgeted figure (model LUTs, weight-memory bits, cycles per image) against
//!    the base;
//! 2. solves the **multiple-choice knapsack** exactly: the predicted drop of a configuration is
//!    the sum of its layers' drops, its predicted cost the base's plus the sum of its layers'
//!    changes, and a dynamic programme over the layers keeps every configuration that no other
//!    beats on every budgeted cost, the drop and the total width at once (so nothing that could
//!    be optimal for some budget is dropped). The chosen configuration is the one with the
//!    smallest predicted drop among those whose predicted costs fit every budget, ties going to
//!    the wider one and then to the one with fewer LUTs; it is then measured, and if its
//!    measured cost exceeds a budget (the per-layer changes did not add up exactly) the next
//!    one in that order is measured instead, until one fits;
//! 3. measures the **searched front** (the configurations no other beats on the first budget's
//!    figure and the drop together) and the **uniform** configurations (every layer at one
//!    candidate width), with the final training, so that the chosen configuration can be
//!    compared with the best uniform one inside the same budget.
//!
//! Every figure comes from an [`Evaluator`]: for `qforge search`, the sweep's
//! [`crate::explore::evaluate::NetworkEvaluator`] (the golden integer engine's accuracy,
//! area model or Yosys, cycle model). Sensitivity points are trained like the final ones unless
//! [`SearchSpace::sensitivity_training`] says otherwise (post-training quantization is the cheap
//! choice on large data sets).
//!
//! ```
//! use qforge::explore::search::{Budget, BudgetMetric};
//! let b: Budget = "luts=2500".parse().unwrap();
//! assert_eq!((b.metric, b.limit), (BudgetMetric::Luts, 2500));
//! assert!("area=5".parse::<Budget>().unwrap_err().contains("luts, weight_bits, cycles"));
//! ```

use crate::explore::error::EvalError;
use crate::explore::evaluator::{Evaluator, Metrics, Outcome};
use crate::explore::grid::PointConfig;
use crate::explore::sweep_file::{LayerOverride, Training};
use crate::num::weights::WeightFamily;
use rayon::prelude::*;
use std::fmt;
use std::str::FromStr;

/// A figure a budget can limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BudgetMetric {
    /// LUTs of the whole design (the area model's or Yosys's count).
    Luts,
    /// Bits of weight memory.
    WeightBits,
    /// Cycles per image in steady state. qforge's processing elements take a whole code per
    /// cycle, so weight widths do not change it: it is met or missed by the folding.
    Cycles,
}

impl BudgetMetric {
    /// Every metric, in the order of [`Costs`].
    pub const ALL: [BudgetMetric; 3] = [
        BudgetMetric::Luts,
        BudgetMetric::WeightBits,
        BudgetMetric::Cycles,
    ];

    /// The name on the command line and in the CSV.
    pub fn name(self) -> &'static str {
        match self {
            BudgetMetric::Luts => "luts",
            BudgetMetric::WeightBits => "weight_bits",
            BudgetMetric::Cycles => "cycles",
        }
    }

    /// The figure of an evaluated point.
    pub fn of(self, m: &Metrics) -> u64 {
        match self {
            BudgetMetric::Luts => m.luts,
            BudgetMetric::WeightBits => m.weight_memory_bits,
            BudgetMetric::Cycles => m.cycles_per_image,
        }
    }

    /// Its place in [`Costs`] (and in [`BudgetMetric::ALL`]).
    pub fn index(self) -> usize {
        match self {
            BudgetMetric::Luts => 0,
            BudgetMetric::WeightBits => 1,
            BudgetMetric::Cycles => 2,
        }
    }
}

/// An upper limit on one figure: `luts=2500`, `weight_bits=4096`, `cycles=64`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// The figure limited.
    pub metric: BudgetMetric,
    /// Its largest allowed value.
    pub limit: u64,
}

impl FromStr for Budget {
    type Err = String;

    fn from_str(s: &str) -> Result<Budget, String> {
        let names = || {
            BudgetMetric::ALL
                .iter()
                .map(|m| m.name())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let (name, value) = s
            .split_once('=')
            .ok_or_else(|| format!("budget `{s}` must be METRIC=N, METRIC one of {}", names()))?;
        let metric = BudgetMetric::ALL
            .into_iter()
            .find(|m| m.name() == name.trim())
            .ok_or_else(|| {
                format!(
                    "budget `{s}`: `{}` is not a budgeted figure; use one of {}",
                    name.trim(),
                    names()
                )
            })?;
        let limit = value
            .trim()
            .replace('_', "")
            .parse::<u64>()
            .map_err(|_| format!("budget `{s}`: `{}` is not a whole number", value.trim()))?;
        Ok(Budget { metric, limit })
    }
}

impl fmt::Display for Budget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} <= {}", self.metric.name(), self.limit)
    }
}

/// The three budgeted figures of a configuration, in [`BudgetMetric::ALL`] order.
pub type Costs = [i128; 3];

fn costs_of(m: &Metrics) -> Costs {
    BudgetMetric::ALL.map(|k| i128::from(k.of(m)))
}

/// What is searched.
#[derive(Debug, Clone)]
pub struct SearchSpace {
    /// Everything a configuration shares: activation width, calibration, multiplier width,
    /// accumulator, folding, FPGA family and the final training. Its weight scheme, weight
    /// width and layer overrides are replaced by each configuration's.
    pub base: PointConfig,
    /// The weight schemes searched (every layer of a configuration has the same scheme).
    pub schemes: Vec<WeightFamily>,
    /// Candidate weight widths; a scheme searches those it can have.
    pub widths: Vec<u32>,
    /// Layers with weights.
    pub layers: usize,
    /// The training of the sensitivity points (`None`: the base's own).
    pub sensitivity_training: Option<Training>,
}

impl SearchSpace {
    /// The configuration with these per-layer widths: the widest as the global width, the
    /// narrower layers as overrides (so one width everywhere is a plain uniform point).
    pub fn point(&self, scheme: WeightFamily, bits: &[u32], training: &Training) -> PointConfig {
        let widest = bits.iter().copied().max().unwrap_or(self.base.weight_bits);
        let mut p = self.base.clone();
        p.weight_scheme = scheme;
        p.weight_bits = widest;
        p.training = training.clone();
        p.layer_overrides = bits
            .iter()
            .enumerate()
            .filter(|&(_, &b)| b != widest)
            .map(|(layer, &b)| LayerOverride {
                layer,
                weight_bits: Some(b),
                activation_bits: None,
            })
            .collect();
        p
    }

    /// The candidate widths of a scheme, narrowest first.
    pub fn widths_of(&self, scheme: WeightFamily) -> Vec<u32> {
        let range = scheme.weight_bit_range();
        let mut w: Vec<u32> = self
            .widths
            .iter()
            .copied()
            .filter(|b| range.contains(b))
            .collect();
        w.sort_unstable();
        w.dedup();
        w
    }
}

/// Why a configuration was measured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The base or a one-layer variation of it, for the sensitivities.
    Sensitivity,
    /// A configuration of the searched front.
    Front,
    /// Every layer at one width.
    Uniform,
    /// The configuration chosen under the budget.
    Chosen,
    /// A configuration predicted inside the budget and tried before the chosen one, whose
    /// measured figures missed it.
    OverBudget,
}

impl Role {
    /// The name in the CSV.
    pub fn name(self) -> &'static str {
        match self {
            Role::Sensitivity => "sensitivity",
            Role::Front => "front",
            Role::Uniform => "uniform",
            Role::Chosen => "chosen",
            Role::OverBudget => "over_budget",
        }
    }
}

/// One measured configuration.
#[derive(Debug, Clone)]
pub struct Row {
    /// Why it was measured.
    pub role: Role,
    /// Its weight scheme.
    pub scheme: WeightFamily,
    /// Its weight width per layer with weights.
    pub bits: Vec<u32>,
    /// The point evaluated.
    pub point: PointConfig,
    /// The knapsack's prediction (drop, costs), for front and chosen rows.
    pub predicted: Option<(f64, Costs)>,
    /// The measured figures, or why the point could not be built.
    pub result: Result<Metrics, String>,
}

impl Row {
    /// Whether the measured figures fit every budget.
    pub fn fits(&self, budgets: &[Budget]) -> bool {
        self.result
            .as_ref()
            .is_ok_and(|m| budgets.iter().all(|b| b.metric.of(m) <= b.limit))
    }
}

/// A layer's candidate width with its measured sensitivity.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The width.
    pub bits: u32,
    /// Accuracy lost against the base (never below 0).
    pub drop: f64,
    /// Change of each budgeted figure against the base.
    pub delta: Costs,
}

/// Everything a search measured and chose.
#[derive(Debug, Clone)]
pub struct SearchReport {
    /// The budgets searched under.
    pub budgets: Vec<Budget>,
    /// Every measured configuration, in the order measured.
    pub rows: Vec<Row>,
    /// Per scheme, per layer, the candidates that could be built.
    pub candidates: Vec<(WeightFamily, Vec<Vec<Candidate>>)>,
    /// Schemes that could not be searched, with the reason.
    pub skipped_schemes: Vec<(WeightFamily, String)>,
    /// The row of the chosen configuration.
    pub chosen: usize,
}

impl SearchReport {
    /// The chosen configuration's row.
    pub fn chosen_row(&self) -> &Row {
        &self.rows[self.chosen]
    }

    /// The most accurate uniform configuration whose measured figures fit the budgets (fewer
    /// LUTs on a tie).
    pub fn best_uniform(&self) -> Option<&Row> {
        self.rows
            .iter()
            .filter(|r| r.role == Role::Uniform && r.fits(&self.budgets))
            .max_by(|a, b| {
                let (ma, mb) = (a.result.as_ref().ok(), b.result.as_ref().ok());
                let acc = |m: Option<&Metrics>| m.map_or(0.0, |m| m.accuracy);
                let luts = |m: Option<&Metrics>| m.map_or(u64::MAX, |m| m.luts);
                acc(ma).total_cmp(&acc(mb)).then(luts(mb).cmp(&luts(ma)))
            })
    }
}

/// Why a search could not choose.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The space has nothing to search.
    #[error("{0}")]
    Space(String),
    /// No scheme's base configuration could be built.
    #[error("no scheme can be searched: {0}")]
    NoScheme(String),
    /// No configuration fits the budgets.
    #[error("no configuration fits {budgets}: {closest}")]
    Infeasible {
        /// The budgets, as text.
        budgets: String,
        /// The smallest configuration found and its figures.
        closest: String,
    },
    /// The evaluating machinery failed.
    #[error(transparent)]
    Eval(#[from] EvalError),
}

/// At most this many front configurations are measured per scheme (evenly spread along it).
pub const MAX_FRONT: usize = 24;

/// A configuration in the knapsack: its per-layer widths, predicted drop and costs.
#[derive(Debug, Clone)]
struct State {
    bits: Vec<u32>,
    drop: f64,
    cost: Costs,
    width: u32,
}

/// Drops are sums of multiples of one test image's share; closer than this they are equal.
const DROP_EPS: f64 = 1e-9;

fn beats(a: &State, b: &State, metrics: &[BudgetMetric]) -> bool {
    metrics
        .iter()
        .all(|m| a.cost[m.index()] <= b.cost[m.index()])
        && a.drop <= b.drop + DROP_EPS
        && a.width >= b.width
}

/// Keeps the states no other state beats (on the budgeted costs, the drop and the width); of
/// equal states the first is kept.
fn pareto(states: Vec<State>, metrics: &[BudgetMetric]) -> Vec<State> {
    let mut kept: Vec<State> = Vec::new();
    for s in states {
        if kept.iter().any(|k| beats(k, &s, metrics)) {
            continue;
        }
        kept.retain(|k| !beats(&s, k, metrics));
        kept.push(s);
    }
    kept
}

/// A configuration as the knapsack predicts it.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    /// Weight width per layer.
    pub bits: Vec<u32>,
    /// Predicted accuracy drop: the sum of the layers' drops.
    pub drop: f64,
    /// Predicted figures: the base's plus the layers' changes.
    pub cost: Costs,
}

/// Every configuration that could be optimal for some budget on `metrics`: the exact
/// multiple-choice knapsack over the layers' candidates, from the base costs.
pub fn knapsack(
    layers: &[Vec<Candidate>],
    base: Costs,
    metrics: &[BudgetMetric],
) -> Vec<Prediction> {
    let mut states = vec![State {
        bits: Vec::new(),
        drop: 0.0,
        cost: base,
        width: 0,
    }];
    for candidates in layers {
        let mut next = Vec::with_capacity(states.len() * candidates.len());
        for s in &states {
            for c in candidates {
                let mut bits = s.bits.clone();
                bits.push(c.bits);
                let mut cost = s.cost;
                for (x, d) in cost.iter_mut().zip(c.delta) {
                    *x += d;
                }
                next.push(State {
                    bits,
                    drop: s.drop + c.drop,
                    cost,
                    width: s.width + c.bits,
                });
            }
        }
        states = pareto(next, metrics);
    }
    states
        .into_iter()
        .map(|s| Prediction {
            bits: s.bits,
            drop: s.drop,
            cost: s.cost,
        })
        .collect()
}

/// The order the chosen configuration is taken in: smallest predicted drop, then the widest,
/// then the fewest LUTs, then the widths themselves (so the order is total).
fn choice_order(a: &Prediction, b: &Prediction) -> std::cmp::Ordering {
    let width = |s: &Prediction| s.bits.iter().sum::<u32>();
    if (a.drop - b.drop).abs() > DROP_EPS {
        return a.drop.total_cmp(&b.drop);
    }
    width(b)
        .cmp(&width(a))
        .then(a.cost[0].cmp(&b.cost[0]))
        .then(b.bits.cmp(&a.bits))
}

/// Evaluates points in parallel, in order.
fn evaluate_all<E: Evaluator>(
    ev: &E,
    points: &[PointConfig],
    progress: &(dyn Fn(&str) + Sync),
) -> Result<Vec<Result<Metrics, String>>, EvalError> {
    points
        .par_iter()
        .map(|p| {
            let r = match ev.evaluate(p)? {
                Outcome::Done(m) => Ok(m),
                Outcome::Skipped(reason) => Err(reason.to_string()),
            };
            progress(&p.label());
            Ok(r)
        })
        .collect()
}

/// Runs the search (see the module docs); `progress` is called with each measured point's
/// label.
pub fn search<E: Evaluator>(
    ev: &E,
    space: &SearchSpace,
    budgets: &[Budget],
    progress: &(dyn Fn(&str) + Sync),
) -> Result<SearchReport, SearchError> {
    if budgets.is_empty() {
        return Err(SearchError::Space("give at least one budget".into()));
    }
    if space.layers == 0 {
        return Err(SearchError::Space(
            "the model has no layer with weights".into(),
        ));
    }
    let metrics: Vec<BudgetMetric> = budgets.iter().map(|b| b.metric).collect();
    let final_training = space.base.training.clone();
    let sens_training = space
        .sensitivity_training
        .clone()
        .unwrap_or_else(|| final_training.clone());
    let mut rows = Vec::new();
    let mut candidates = Vec::new();
    let mut skipped_schemes = Vec::new();

    // 1. Sensitivities: per scheme the base, then each layer at each narrower width.
    let mut plans = Vec::new();
    for &scheme in &space.schemes {
        let widths = space.widths_of(scheme);
        let Some(&widest) = widths.last() else {
            skipped_schemes.push((
                scheme,
                format!(
                    "none of the widths {:?} is a {} width ({:?})",
                    space.widths,
                    scheme.name(),
                    scheme.weight_bit_range()
                ),
            ));
            continue;
        };
        let mut configs = vec![vec![widest; space.layers]];
        for layer in 0..space.layers {
            for &b in &widths[..widths.len() - 1] {
                let mut bits = vec![widest; space.layers];
                bits[layer] = b;
                configs.push(bits);
            }
        }
        plans.push((scheme, widths, configs));
    }
    let points: Vec<PointConfig> = plans
        .iter()
        .flat_map(|(s, _, configs)| configs.iter().map(|c| space.point(*s, c, &sens_training)))
        .collect();
    let mut results = evaluate_all(ev, &points, progress)?.into_iter();
    let mut points = points.into_iter();
    let mut fronts = Vec::new();
    for (scheme, widths, configs) in plans {
        let measured: Vec<(Vec<u32>, PointConfig, Result<Metrics, String>)> = configs
            .into_iter()
            .map(|c| {
                (
                    c,
                    points.next().expect("a point per config"),
                    results.next().expect("a result per point"),
                )
            })
            .collect();
        for (bits, point, result) in &measured {
            rows.push(Row {
                role: Role::Sensitivity,
                scheme,
                bits: bits.clone(),
                point: point.clone(),
                predicted: None,
                result: result.clone(),
            });
        }
        let base = match &measured[0].2 {
            Ok(m) => m.clone(),
            Err(reason) => {
                skipped_schemes.push((scheme, reason.clone()));
                continue;
            }
        };
        let base_costs = costs_of(&base);
        let widest = *widths.last().expect("a widest width");
        let mut per_layer: Vec<Vec<Candidate>> = (0..space.layers)
            .map(|_| {
                vec![Candidate {
                    bits: widest,
                    drop: 0.0,
                    delta: [0; 3],
                }]
            })
            .collect();
        for (k, (bits, _, result)) in measured.iter().enumerate().skip(1) {
            let layer = (k - 1) / (widths.len() - 1);
            if let Ok(m) = result {
                let c = costs_of(m);
                per_layer[layer].push(Candidate {
                    bits: bits[layer],
                    drop: (base.accuracy - m.accuracy).max(0.0),
                    delta: [
                        c[0] - base_costs[0],
                        c[1] - base_costs[1],
                        c[2] - base_costs[2],
                    ],
                });
            }
        }
        for c in &mut per_layer {
            c.sort_by_key(|c| c.bits);
        }
        let states = knapsack(&per_layer, base_costs, &metrics);
        candidates.push((scheme, per_layer));
        fronts.push((scheme, widths, states));
    }
    if fronts.is_empty() {
        let reasons: Vec<String> = skipped_schemes
            .iter()
            .map(|(s, r)| format!("{}: {r}", s.name()))
            .collect();
        return Err(SearchError::NoScheme(reasons.join("; ")));
    }

    // 2. The chosen configuration: the best predicted that fits, measured until one fits.
    let mut all: Vec<(WeightFamily, Prediction)> = fronts
        .iter()
        .flat_map(|(s, _, states)| states.iter().map(move |st| (*s, st.clone())))
        .collect();
    all.sort_by(|a, b| choice_order(&a.1, &b.1).then(a.0.cmp(&b.0)));
    let fits_predicted = |c: &Costs| {
        budgets
            .iter()
            .all(|b| c[b.metric.index()] <= i128::from(b.limit))
    };
    let mut chosen = None;
    for (scheme, p) in all.iter().filter(|(_, p)| fits_predicted(&p.cost)) {
        let point = space.point(*scheme, &p.bits, &final_training);
        let result = evaluate_all(ev, std::slice::from_ref(&point), progress)?
            .pop()
            .expect("one result");
        let mut row = Row {
            role: Role::OverBudget,
            scheme: *scheme,
            bits: p.bits.clone(),
            point,
            predicted: Some((p.drop, p.cost)),
            result,
        };
        let fits = row.fits(budgets);
        if fits {
            row.role = Role::Chosen;
        }
        rows.push(row);
        if fits {
            chosen = Some(rows.len() - 1);
            break;
        }
    }
    let Some(chosen) = chosen else {
        let smallest = all
            .iter()
            .min_by_key(|(_, p)| p.cost[metrics[0].index()])
            .expect("a state");
        let costs: Vec<String> = budgets
            .iter()
            .map(|b| format!("{} {}", b.metric.name(), smallest.1.cost[b.metric.index()]))
            .collect();
        return Err(SearchError::Infeasible {
            budgets: budgets
                .iter()
                .map(|b| b.to_string())
                .collect::<Vec<_>>()
                .join(" and "),
            closest: format!(
                "the smallest is {} W{:?}, predicted at {}",
                smallest.0.name(),
                smallest.1.bits,
                costs.join(", ")
            ),
        });
    };

    // 3. The searched front and the uniform configurations, with the final training.
    let mut extra: Vec<Row> = Vec::new();
    let row = |role, scheme, bits: Vec<u32>, predicted| Row {
        role,
        scheme,
        point: space.point(scheme, &bits, &final_training),
        bits,
        predicted,
        result: Err(String::new()),
    };
    for (scheme, widths, states) in &fronts {
        let first = metrics[0].index();
        let mut front: Vec<&Prediction> = Vec::new();
        let mut by_cost: Vec<&Prediction> = states.iter().collect();
        by_cost.sort_by(|a, b| a.cost[first].cmp(&b.cost[first]).then(choice_order(a, b)));
        for p in by_cost {
            if front.last().is_none_or(|f| p.drop < f.drop - DROP_EPS) {
                front.push(p);
            }
        }
        for p in spread(&front, MAX_FRONT) {
            extra.push(row(
                Role::Front,
                *scheme,
                p.bits.clone(),
                Some((p.drop, p.cost)),
            ));
        }
        for &b in widths {
            extra.push(row(Role::Uniform, *scheme, vec![b; space.layers], None));
        }
    }
    let points: Vec<PointConfig> = extra.iter().map(|r| r.point.clone()).collect();
    let results = evaluate_all(ev, &points, progress)?;
    for (mut r, result) in extra.into_iter().zip(results) {
        r.result = result;
        rows.push(r);
    }
    Ok(SearchReport {
        budgets: budgets.to_vec(),
        rows,
        candidates,
        skipped_schemes,
        chosen,
    })
}

/// At most `n` items of a list, evenly spread and always with both ends.
fn spread<T: Copy>(items: &[T], n: usize) -> Vec<T> {
    if items.len() <= n {
        return items.to_vec();
    }
    if n < 2 {
        return items.iter().copied().take(n).collect();
    }
    let last = items.len() - 1;
    let mut picked: Vec<usize> = (0..n).map(|k| k * last / (n - 1)).collect();
    picked.dedup();
    picked.into_iter().map(|i| items[i]).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(bits: u32, drop: f64, luts: i128) -> Candidate {
        Candidate {
            bits,
            drop,
            delta: [luts, 0, 0],
        }
    }

    /// Every combination of the layers' candidates, by brute force.
    fn all_combinations(layers: &[Vec<Candidate>]) -> Vec<(Vec<u32>, f64, i128)> {
        let mut out = vec![(Vec::new(), 0.0, 0i128)];
        for cands in layers {
            out = out
                .into_iter()
                .flat_map(|(bits, drop, luts)| {
                    cands.iter().map(move |c| {
                        let mut b = bits.clone();
                        b.push(c.bits);
                        (b, drop + c.drop, luts + c.delta[0])
                    })
                })
                .collect();
        }
        out
    }

    #[test]
    fn the_knapsack_finds_the_brute_force_optimum_for_every_budget() {
        // Three layers, drops and LUT changes chosen so that greedy choices go wrong.
        let layers = vec![
            vec![cand(2, 0.30, -900), cand(4, 0.05, -500), cand(8, 0.0, 0)],
            vec![cand(2, 0.02, -300), cand(4, 0.01, -200), cand(8, 0.0, 0)],
            vec![cand(2, 0.10, -700), cand(3, 0.04, -650), cand(8, 0.0, 0)],
        ];
        let base = [3000, 0, 0];
        let states = knapsack(&layers, base, &[BudgetMetric::Luts]);
        let brute = all_combinations(&layers);
        for limit in (900..=3100).step_by(25) {
            let best = brute
                .iter()
                .filter(|(_, _, l)| base[0] + l <= limit)
                .map(|(_, d, _)| *d)
                .fold(f64::INFINITY, f64::min);
            let found = states
                .iter()
                .filter(|s| s.cost[0] <= limit)
                .map(|s| s.drop)
                .fold(f64::INFINITY, f64::min);
            assert!(
                (best - found).abs() < 1e-12 || (best.is_infinite() && found.is_infinite()),
                "limit {limit}: brute force {best}, knapsack {found}"
            );
        }
        // The widest configuration is kept: nothing is wider.
        assert!(states.iter().any(|s| s.bits == vec![8, 8, 8]));
    }

    #[test]
    fn the_pareto_filter_keeps_ties_in_drop_only_when_wider() {
        let s = |bits: Vec<u32>, drop: f64, luts: i128| State {
            width: bits.iter().sum(),
            bits,
            drop,
            cost: [luts, 0, 0],
        };
        let kept = pareto(
            vec![
                s(vec![4], 0.0, 100),
                s(vec![8], 0.0, 200),
                s(vec![3], 0.1, 150),
                s(vec![2], 0.2, 50),
            ],
            &[BudgetMetric::Luts],
        );
        let bits: Vec<Vec<u32>> = kept.into_iter().map(|s| s.bits).collect();
        // [3] is beaten by [4] (cheaper, no drop, wider); [8] survives as the wider tie.
        assert_eq!(bits, vec![vec![4], vec![8], vec![2]]);
    }

    #[test]
    fn budgets_parse_and_refuse_with_reasons() {
        assert_eq!(
            "weight_bits=4_096".parse::<Budget>(),
            Ok(Budget {
                metric: BudgetMetric::WeightBits,
                limit: 4096
            })
        );
        assert!("luts".parse::<Budget>().unwrap_err().contains("METRIC=N"));
        assert!("luts=-3"
            .parse::<Budget>()
            .unwrap_err()
            .contains("`-3` is not a whole number"));
    }

    #[test]
    fn spread_keeps_both_ends() {
        let v: Vec<usize> = (0..100).collect();
        let s = spread(&v, 5);
        assert_eq!(s, vec![0, 24, 49, 74, 99]);
        assert_eq!(spread(&v[..3], 5), vec![0, 1, 2]);
    }
}
