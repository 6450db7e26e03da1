//! The encoder's CPU operations, written as candle custom ops.
//!
//! Why custom: with candle's generic ops a BERT layer is about fifteen passes over memory
//! (bias adds, residual adds, a layer norm made of reductions, GELU through scalar `erf`,
//! attention through permuted copies and padded masks), and candle's matrix product (the
//! `gemm` crate) reads the weights in an order the memory prefetcher cannot follow when a
//! question has a dozen tokens: measured here, 9.4 ms for the 24 products of one short
//! question once the 42 MB of weights no longer fit in cache, against 4.8 ms for [`Linear`]
//! on one core. Fused, a layer is four linear products (Q|K|V in one, GELU fused into the
//! first feed-forward one), attention, and two residual + layer-norm passes.
//!
//! Everything is vectorised for the CPU found at run time through `pulp`'s dispatch (AVX-512
//! where the CPU has it, else AVX2/FMA; AVX-512 gave 18 % more batch throughput than AVX2 on
//! the same machine), without `unsafe`, and split over the cores with rayon (the caller runs
//! it inside its thread pool).
//!
//! Sequences are *packed*: the rows of all texts in a batch follow each other with no padding
//! (row = token), and `lens` says where each text ends. Every operation but attention works per
//! row anyway; attention only mixes rows within one text. That is exactly what an attention
//! mask over padded rows computes, without computing the padding.

use candle_core::backend::BackendStorage;
use candle_core::{CpuStorage, CustomOp1, InplaceOp2, Layout, Shape};
use pulp::{Arch, Simd, WithSimd};
use rayon::prelude::*;

type CandleResult<T> = candle_core::Result<T>;

/// Rows per task when a row-wise operation is split over threads: below this, one thread.
const ROWS_PER_TASK: usize = 32;

fn contiguous<'a>(storage: &'a CpuStorage, layout: &Layout, op: &str) -> CandleResult<&'a [f32]> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{op}: input must be contiguous");
    };
    match storage {
        CpuStorage::F32(values) => Ok(&values[start..end]),
        other => candle_core::bail!("{op}: expected f32, got {:?}", other.dtype()),
    }
}

fn contiguous_mut<'a>(
    storage: &'a mut CpuStorage,
    layout: &Layout,
    op: &str,
) -> CandleResult<&'a mut [f32]> {
    let Some((start, end)) = layout.contiguous_offsets() else {
        candle_core::bail!("{op}: input must be contiguous");
    };
    match storage {
        CpuStorage::F32(values) => Ok(&mut values[start..end]),
        other => candle_core::bail!("{op}: expected f32, got {:?}", other.dtype()),
    }
}

/// erf for f32 as a rational function (the approximation Eigen and TensorFlow use): absolute
/// error below 4e-7 everywhere, branch-free so it vectorises, unlike libm's `erff`.
#[inline(always)]
pub(super) fn erf(x: f32) -> f32 {
    let x = x.clamp(-4.0, 4.0);
    let x2 = x * x;
    let mut p = x2.mul_add(-2.726_142_3e-10, 2.770_681_4e-8);
    p = p.mul_add(x2, -2.101_024e-6);
    p = p.mul_add(x2, -5.692_506_4e-5);
    p = p.mul_add(x2, -7.349_906_3e-4);
    p = p.mul_add(x2, -2.954_6e-3);
    p = p.mul_add(x2, -1.609_603_3e-2);
    p *= x;
    let mut q = x2.mul_add(-1.456_607_2e-5, -2.133_740_6e-4);
    q = q.mul_add(x2, -1.682_827e-3);
    q = q.mul_add(x2, -7.373_329e-3);
    q = q.mul_add(x2, -1.426_474e-2);
    p / q
}

/// GELU in the exact (erf) form BERT was trained with.
#[inline(always)]
fn gelu(x: f32) -> f32 {
    0.5 * x * (1.0 + erf(x * std::f32::consts::FRAC_1_SQRT_2))
}

// ---------------------------------------------------------------------------------------------
// Linear layers

/// Output columns per weight panel: two AVX2 vectors, or one AVX-512 vector.
const NR: usize = 16;
/// Most rows computed together: 5 rows x 16 columns of accumulators fit in the 16 vector
/// registers with the two weight vectors and the broadcast (4 and 6 measured slower).
const MR: usize = 5;

/// A linear layer (`y = x W^T + b`) with its weights packed for the kernel: panels of 16
/// output columns, each `[in_features][16]` contiguous, so that a product streams the
/// weights once, front to back, which the prefetcher follows at full memory speed.
pub(super) struct Linear {
    in_features: usize,
    out_features: usize,
    /// `ceil(out / 16)` panels of `in_features * 16` values; missing columns are zero.
    panels: Vec<f32>,
    /// The bias, zero-padded to whole panels.
    bias: Vec<f32>,
}

impl Linear {
    /// Packs a PyTorch-layout weight (`[out_features, in_features]`, row-major) and its bias.
    pub fn new(weight: &[f32], bias: &[f32], out_features: usize, in_features: usize) -> Self {
        let panel_count = out_features.div_ceil(NR);
        let mut panels = vec![0f32; panel_count * in_features * NR];
        for (j, row) in weight.chunks_exact(in_features).enumerate() {
            let (panel, column) = (j / NR, j % NR);
            let base = panel * in_features * NR + column;
            for (kk, w) in row.iter().enumerate() {
                panels[base + kk * NR] = *w;
            }
        }
        let mut padded_bias = bias.to_vec();
        padded_bias.resize(panel_count * NR, 0.0);
        Self {
            in_features,
            out_features,
            panels,
            bias: padded_bias,
        }
    }

    /// `x W^T + b` (then GELU when `gelu`) for `x` of `m` rows, split over `threads` tasks by
    /// output panels, so each thread streams only its share of the weights.
    fn forward(&self, x: &[f32], gelu: bool, threads: usize) -> Vec<f32> {
        let (k, n) = (self.in_features, self.out_features);
        let m = x.len() / k;
        let blocks = row_blocks(m);
        let packed = pack_rows(x, k, &blocks);
        let mut out = vec![0f32; m * n];
        let panel_count = n.div_ceil(NR);
        let tasks = threads.clamp(1, panel_count);
        // Panel range of each task, and every output row cut into the matching column pieces:
        // the tasks write disjoint slices, so plain safe Rust can hand them out.
        let bounds: Vec<usize> = (0..=tasks).map(|t| t * panel_count / tasks).collect();
        let mut pieces: Vec<Vec<&mut [f32]>> = (0..tasks).map(|_| Vec::with_capacity(m)).collect();
        for row in out.chunks_exact_mut(n) {
            let mut rest = row;
            for (t, task_rows) in pieces.iter_mut().enumerate() {
                let width = (bounds[t + 1] * NR).min(n) - bounds[t] * NR;
                let (piece, tail) = rest.split_at_mut(width);
                task_rows.push(piece);
                rest = tail;
            }
        }
        let run = |t: usize, rows: &mut Vec<&mut [f32]>| {
            Arch::new().dispatch(LinearKernel {
                packed: &packed,
                blocks: &blocks,
                k,
                panels: &self.panels,
                bias: &self.bias,
                first_panel: bounds[t],
                end_panel: bounds[t + 1],
                rows,
                gelu,
            });
        };
        if tasks == 1 {
            run(0, &mut pieces[0]);
        } else {
            pieces
                .par_iter_mut()
                .enumerate()
                .for_each(|(t, rows)| run(t, rows));
        }
        out
    }
}

/// `x` of shape `[rows, in_features]` to `[rows, out_features]` through a [`Linear`].
pub(super) struct LinearOp<'a> {
    pub linear: &'a Linear,
    /// Apply GELU to the result (the first feed-forward product).
    pub gelu: bool,
    pub threads: usize,
}

impl CustomOp1 for LinearOp<'_> {
    fn name(&self) -> &'static str {
        "packed-linear"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> CandleResult<(CpuStorage, Shape)> {
        let x = contiguous(storage, layout, self.name())?;
        let k = self.linear.in_features;
        if k == 0 || !x.len().is_multiple_of(k) {
            candle_core::bail!("packed-linear: {} values are not rows of {k}", x.len());
        }
        let y = self.linear.forward(x, self.gelu, self.threads);
        let m = x.len() / k;
        Ok((
            CpuStorage::F32(y),
            Shape::from((m, self.linear.out_features)),
        ))
    }
}

/// `m` rows in blocks of at most [`MR`], as even as possible (13 rows: 5, 4, 4), so that no
/// block runs nearly empty.
fn row_blocks(m: usize) -> Vec<usize> {
    let count = m.div_ceil(MR);
    (0..count)
        .map(|b| (b + 1) * m / count - b * m / count)
        .collect()
}

/// Each block of rows transposed to `[k][rows]`, so the kernel reads it front to back.
fn pack_rows(x: &[f32], k: usize, blocks: &[usize]) -> Vec<f32> {
    let mut out = vec![0f32; x.len()];
    let mut offset = 0;
    for &rows in blocks {
        let src = &x[offset..offset + rows * k];
        let dst = &mut out[offset..offset + rows * k];
        match rows {
            5 => pack_block::<5>(src, dst, k),
            4 => pack_block::<4>(src, dst, k),
            3 => pack_block::<3>(src, dst, k),
            2 => pack_block::<2>(src, dst, k),
            _ => pack_block::<1>(src, dst, k),
        }
        offset += rows * k;
    }
    out
}

fn pack_block<const R: usize>(src: &[f32], dst: &mut [f32], k: usize) {
    let rows: [&[f32]; R] = std::array::from_fn(|r| &src[r * k..(r + 1) * k]);
    for (kk, column) in dst.chunks_exact_mut(R).enumerate() {
        for (value, row) in column.iter_mut().zip(&rows) {
            *value = row[kk];
        }
    }
}

struct LinearKernel<'a, 'b> {
    packed: &'a [f32],
    blocks: &'a [usize],
    k: usize,
    panels: &'a [f32],
    bias: &'a [f32],
    first_panel: usize,
    end_panel: usize,
    /// This task's column piece of every output row.
    rows: &'a mut [&'b mut [f32]],
    gelu: bool,
}

impl WithSimd for LinearKernel<'_, '_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let k = self.k;
        for p in self.first_panel..self.end_panel {
            let panel = &self.panels[p * k * NR..(p + 1) * k * NR];
            let Ok(bias) = <&[f32; NR]>::try_from(&self.bias[p * NR..(p + 1) * NR]) else {
                return; // unreachable: the bias is padded to whole panels
            };
            let column = (p - self.first_panel) * NR;
            let (mut row, mut offset) = (0, 0);
            for &rows in self.blocks {
                let x = &self.packed[offset..offset + rows * k];
                let out = Tile {
                    rows: &mut *self.rows,
                    first_row: row,
                    column,
                    gelu: self.gelu,
                };
                match rows {
                    5 => tile::<5>(x, panel, bias, out),
                    4 => tile::<4>(x, panel, bias, out),
                    3 => tile::<3>(x, panel, bias, out),
                    2 => tile::<2>(x, panel, bias, out),
                    _ => tile::<1>(x, panel, bias, out),
                }
                row += rows;
                offset += rows * k;
            }
        }
    }
}

/// Where a tile of `R` rows x 16 columns goes.
struct Tile<'a, 'b> {
    rows: &'a mut [&'b mut [f32]],
    first_row: usize,
    column: usize,
    gelu: bool,
}

/// One `R x 16` tile: `R` packed rows of x times one weight panel, plus the bias.
///
/// The accumulators must stay in registers, which the compiler does only while the array is
/// never addressed with a run-time length and no heavy code touches it: a partial
/// `copy_from_slice` straight from `acc` spilled it to the stack (20x slower), and so did
/// applying GELU to `acc` before the store (10x). Hence the copy for a last, partial panel,
/// and GELU on the stored values. `cargo bench --bench embedding` shows such a regression.
#[inline(always)]
fn tile<const R: usize>(x: &[f32], panel: &[f32], bias: &[f32; NR], out: Tile<'_, '_>) {
    let mut acc = [[0f32; NR]; R];
    for a in acc.iter_mut() {
        a.copy_from_slice(bias);
    }
    for (w, xk) in panel.chunks_exact(NR).zip(x.chunks_exact(R)) {
        let (Ok(w), Ok(xk)) = (<&[f32; NR]>::try_from(w), <&[f32; R]>::try_from(xk)) else {
            continue; // unreachable: chunks_exact yields exactly NR and R values
        };
        for r in 0..R {
            let xv = xk[r];
            for c in 0..NR {
                acc[r][c] = xv.mul_add(w[c], acc[r][c]);
            }
        }
    }
    for (r, values) in acc.iter().enumerate() {
        let dst = &mut out.rows[out.first_row + r][out.column..];
        let len = dst.len().min(NR);
        let dst = &mut dst[..len];
        if len == NR {
            dst.copy_from_slice(values);
        } else {
            let partial: [f32; NR] = *values;
            dst.copy_from_slice(&partial[..len]);
        }
        if out.gelu {
            for v in dst.iter_mut() {
                *v = gelu(*v);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Layer norm

/// `layer_norm(y + residual)` in place on every row of `y`: how each BERT sub-block ends
/// (post-norm). `residual` is the sub-block's input, same shape as `y`; the bias was added by
/// the linear layer.
pub(super) struct ResidualNorm<'a> {
    pub gamma: &'a [f32],
    pub beta: &'a [f32],
    pub eps: f32,
}

impl InplaceOp2 for ResidualNorm<'_> {
    fn name(&self) -> &'static str {
        "residual-layer-norm"
    }

    fn cpu_fwd(
        &self,
        storage: &mut CpuStorage,
        layout: &Layout,
        residual: &CpuStorage,
        residual_layout: &Layout,
    ) -> CandleResult<()> {
        let residual = contiguous(residual, residual_layout, self.name())?;
        let y = contiguous_mut(storage, layout, self.name())?;
        let width = self.gamma.len();
        if width == 0 || !y.len().is_multiple_of(width) || residual.len() != y.len() {
            candle_core::bail!(
                "residual-layer-norm: {} values, residual {}, width {width}",
                y.len(),
                residual.len()
            );
        }
        layer_norm(y, Some(residual), self.gamma, self.beta, self.eps);
        Ok(())
    }
}

/// Layer norm in place on each row of `rows` (width `gamma.len()`), after adding `residual`.
pub(super) fn layer_norm(
    rows: &mut [f32],
    residual: Option<&[f32]>,
    gamma: &[f32],
    beta: &[f32],
    eps: f32,
) {
    let chunk = ROWS_PER_TASK * gamma.len();
    let run = |rows: &mut [f32], residual: Option<&[f32]>| {
        Arch::new().dispatch(NormKernel {
            rows,
            residual,
            gamma,
            beta,
            eps,
        });
    };
    if rows.len() <= chunk {
        run(rows, residual);
    } else if let Some(residual) = residual {
        rows.par_chunks_mut(chunk)
            .zip(residual.par_chunks(chunk))
            .for_each(|(rows, residual)| run(rows, Some(residual)));
    } else {
        rows.par_chunks_mut(chunk).for_each(|rows| run(rows, None));
    }
}

struct NormKernel<'a> {
    rows: &'a mut [f32],
    residual: Option<&'a [f32]>,
    gamma: &'a [f32],
    beta: &'a [f32],
    eps: f32,
}

/// Sum of a slice with eight independent accumulators, so that it vectorises (a single running
/// sum is a serial dependency the compiler may not reorder).
#[inline(always)]
fn sum8(values: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let mut chunks = values.chunks_exact(8);
    for chunk in &mut chunks {
        for (a, v) in acc.iter_mut().zip(chunk) {
            *a += v;
        }
    }
    let tail: f32 = chunks.remainder().iter().sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

#[inline(always)]
fn centred_square_sum8(values: &[f32], mean: f32) -> f32 {
    let mut acc = [0f32; 8];
    let mut chunks = values.chunks_exact(8);
    for chunk in &mut chunks {
        for (a, v) in acc.iter_mut().zip(chunk) {
            let d = v - mean;
            *a = d.mul_add(d, *a);
        }
    }
    let tail: f32 = chunks
        .remainder()
        .iter()
        .map(|v| (v - mean) * (v - mean))
        .sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

impl WithSimd for NormKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let width = self.gamma.len();
        for (r, row) in self.rows.chunks_exact_mut(width).enumerate() {
            if let Some(residual) = self.residual {
                for (value, x) in row.iter_mut().zip(&residual[r * width..(r + 1) * width]) {
                    *value += x;
                }
            }
            let mean = sum8(row) / width as f32;
            let variance = centred_square_sum8(row, mean) / width as f32;
            let inv_std = 1.0 / (variance + self.eps).sqrt();
            for ((value, g), b) in row.iter_mut().zip(self.gamma).zip(self.beta) {
                *value = ((*value - mean) * inv_std).mul_add(*g, *b);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Attention

/// Multi-head self-attention over packed sequences, from the fused Q|K|V projection
/// (`[tokens, 3 * hidden]`, bias included) to the context vectors (`[tokens, hidden]`).
/// Texts are independent, so a batch is split over threads text by text.
pub(super) struct Attention<'a> {
    /// Tokens per text, in row order; they sum to the number of rows.
    pub lens: &'a [usize],
    pub heads: usize,
    pub hidden: usize,
}

impl CustomOp1 for Attention<'_> {
    fn name(&self) -> &'static str {
        "packed-attention"
    }

    fn cpu_fwd(&self, storage: &CpuStorage, layout: &Layout) -> CandleResult<(CpuStorage, Shape)> {
        let qkv = contiguous(storage, layout, self.name())?;
        let (h, heads) = (self.hidden, self.heads);
        let tokens: usize = self.lens.iter().sum();
        if heads == 0 || !h.is_multiple_of(heads) || qkv.len() != tokens * 3 * h {
            candle_core::bail!(
                "packed-attention: {} values for {tokens} tokens, hidden {h}, {heads} heads",
                qkv.len()
            );
        }
        let mut out = vec![0f32; tokens * h];
        // One (qkv rows, output rows) pair per text.
        let mut texts = Vec::with_capacity(self.lens.len());
        let (mut qkv_rest, mut out_rest) = (qkv, out.as_mut_slice());
        for &len in self.lens {
            let (text_qkv, qkv_tail) = qkv_rest.split_at(len * 3 * h);
            let (text_out, out_tail) = out_rest.split_at_mut(len * h);
            texts.push((text_qkv, text_out));
            (qkv_rest, out_rest) = (qkv_tail, out_tail);
        }
        let run = |(qkv, out): &mut (&[f32], &mut [f32])| {
            Arch::new().dispatch(AttentionKernel {
                qkv,
                out,
                heads,
                hidden: h,
            });
        };
        if texts.len() == 1 {
            texts.iter_mut().for_each(run);
        } else {
            texts.par_iter_mut().for_each(run);
        }
        Ok((CpuStorage::F32(out), Shape::from((tokens, h))))
    }
}

/// Attention within one text: `qkv` is its `[len, 3 * hidden]` rows, `out` its `[len, hidden]`.
struct AttentionKernel<'a> {
    qkv: &'a [f32],
    out: &'a mut [f32],
    heads: usize,
    hidden: usize,
}

#[inline(always)]
fn dot8(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0f32; 8];
    let mut ca = a.chunks_exact(8);
    let mut cb = b.chunks_exact(8);
    for (x, y) in (&mut ca).zip(&mut cb) {
        for i in 0..8 {
            acc[i] = x[i].mul_add(y[i], acc[i]);
        }
    }
    let tail: f32 = ca
        .remainder()
        .iter()
        .zip(cb.remainder())
        .map(|(x, y)| x * y)
        .sum();
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7])) + tail
}

impl WithSimd for AttentionKernel<'_> {
    type Output = ();

    #[inline(always)]
    fn with_simd<S: Simd>(self, _simd: S) {
        let h = self.hidden;
        let hd = h / self.heads;
        let len = self.out.len() / h;
        let scale = 1.0 / (hd as f32).sqrt();
        // One head at a time, gathered into contiguous [len, hd] blocks (the scale folded into
        // Q), so the inner loops run over unit strides.
        let mut q = vec![0f32; len * hd];
        let mut k = vec![0f32; len * hd];
        let mut v = vec![0f32; len * hd];
        let mut scores = vec![0f32; len];
        for head in 0..self.heads {
            let c = head * hd;
            for (t, row) in self.qkv.chunks_exact(3 * h).enumerate() {
                let dst = t * hd..(t + 1) * hd;
                for (d, x) in q[dst.clone()].iter_mut().zip(&row[c..c + hd]) {
                    *d = x * scale;
                }
                k[dst.clone()].copy_from_slice(&row[h + c..h + c + hd]);
                v[dst].copy_from_slice(&row[2 * h + c..2 * h + c + hd]);
            }
            for (i, out_row) in self.out.chunks_exact_mut(h).enumerate() {
                let qi = &q[i * hd..(i + 1) * hd];
                let mut max = f32::NEG_INFINITY;
                for (score, kj) in scores.iter_mut().zip(k.chunks_exact(hd)) {
                    *score = dot8(qi, kj);
                    max = max.max(*score);
                }
                let mut sum = 0f32;
                for score in scores.iter_mut() {
                    *score = (*score - max).exp();
                    sum += *score;
                }
                let inv = 1.0 / sum;
                let out = &mut out_row[c..c + hd];
                out.fill(0.0);
                for (score, vj) in scores.iter().zip(v.chunks_exact(hd)) {
                    let p = score * inv;
                    for (o, x) in out.iter_mut().zip(vj) {
                        *o = p.mul_add(*x, *o);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// erf in f64 from its Taylor series (|x| < 3) or continued fraction (beyond).
    fn erf_reference(x: f64) -> f64 {
        let t = x.abs();
        let r = if t < 3.0 {
            let (mut sum, mut term, mut n) = (t, t, 0f64);
            loop {
                n += 1.0;
                term *= -t * t / n;
                let add = term / (2.0 * n + 1.0);
                sum += add;
                if add.abs() < 1e-17 {
                    break;
                }
            }
            sum * 2.0 / std::f64::consts::PI.sqrt()
        } else {
            let mut f = 0.0;
            for k in (1..60).rev() {
                f = (f64::from(k) / 2.0) / (t + f);
            }
            1.0 - (-t * t).exp() / std::f64::consts::PI.sqrt() / (t + f)
        };
        r.copysign(x)
    }

    #[test]
    fn erf_is_accurate_to_f32_precision() {
        let worst = (-60_000..60_000)
            .map(|i| {
                let x = i as f32 * 1e-4;
                (f64::from(erf(x)) - erf_reference(f64::from(x))).abs()
            })
            .fold(0f64, f64::max);
        assert!(worst < 5e-7, "max abs error {worst}");
    }

    #[test]
    fn layer_norm_matches_the_definition() {
        let mut rows = vec![1.0, 2.0, 3.0, 4.0, -1.0, 0.0, 1.0, 2.0];
        layer_norm(&mut rows, None, &[1.0; 4], &[0.5; 4], 1e-12);
        let expected = [-1.341_640_8, -0.447_213_6, 0.447_213_6, 1.341_640_8];
        for (got, want) in rows.iter().zip(expected.iter().chain(&expected)) {
            assert!((got - (want + 0.5)).abs() < 1e-5, "{got} vs {want}");
        }
    }

    /// `x W^T + b` the obvious way, in f64.
    fn linear_reference(x: &[f32], w: &[f32], b: &[f32], k: usize) -> Vec<f32> {
        let n = b.len();
        x.chunks_exact(k)
            .flat_map(|row| {
                (0..n).map(move |j| {
                    let dot: f64 = row
                        .iter()
                        .zip(&w[j * k..(j + 1) * k])
                        .map(|(a, c)| f64::from(*a) * f64::from(*c))
                        .sum();
                    (dot + f64::from(b[j])) as f32
                })
            })
            .collect()
    }

    #[test]
    fn linear_matches_the_definition_for_any_shape_and_thread_count() {
        let mut seed = 7u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / 16_777_216.0 - 0.5
        };
        // Widths not multiple of 16, row counts around the block size, 1 to 3 threads.
        for (m, k, n, threads) in [
            (1, 8, 24, 1),
            (7, 33, 40, 2),
            (13, 64, 48, 3),
            (64, 16, 16, 2),
        ] {
            let x: Vec<f32> = (0..m * k).map(|_| next()).collect();
            let w: Vec<f32> = (0..n * k).map(|_| next()).collect();
            let b: Vec<f32> = (0..n).map(|_| next()).collect();
            let linear = Linear::new(&w, &b, n, k);
            let want = linear_reference(&x, &w, &b, k);
            for gelu_on in [false, true] {
                let got = linear.forward(&x, gelu_on, threads);
                assert_eq!(got.len(), m * n);
                for (g, r) in got.iter().zip(&want) {
                    let r = if gelu_on { gelu(*r) } else { *r };
                    assert!((g - r).abs() < 1e-4, "{m}x{k}x{n}: {g} vs {r}");
                }
            }
        }
    }

    #[test]
    fn row_blocks_are_even_and_cover_every_row() {
        assert_eq!(row_blocks(13), vec![4, 4, 5]);
        assert_eq!(row_blocks(5), vec![5]);
        assert_eq!(row_blocks(1), vec![1]);
        assert!(row_blocks(0).is_empty());
        assert_eq!(row_blocks(738).iter().sum::<usize>(), 738);
    }
}
