//! Multinomial logistic (softmax) regression on sparse features, trained with stochastic
//! gradient descent.
//!
//! Why hand-written: the Rust solvers that exist (linfa-logistic, smartcore) work on dense
//! matrices; a CLINC150-sized problem (15k texts, ~100k features, 151 classes) would need
//! gigabytes and minutes there. Here the weights are stored feature-major (one contiguous row
//! of class weights per feature), so both the forward pass and the update of one example touch
//! only the rows of its ~200 non-zero features, each a vectorisable loop over the classes.
//!
//! Objective: mean cross-entropy + `l2 / 2 * |W|^2` (biases unregularised). L2 decay is
//! applied lazily through a global scale factor, so a step costs O(non-zeros x classes)
//! instead of O(all weights). The learning rate decays linearly to zero over the epochs.
//! Training is single-threaded and seeded, so the same data gives the same model, bit for bit.

use super::features::SparseVector;

/// How class scores become probabilities, and so what the model learns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Loss {
    /// One softmax over all classes: probabilities sum to one.
    Softmax,
    /// An independent sigmoid per class (one-vs-rest): a text unlike every class can have
    /// low probabilities for all of them, which softmax cannot express.
    OneVsRest,
}

#[derive(Debug, Clone, PartialEq)]
pub struct TrainSettings {
    pub loss: Loss,
    /// Passes over the data; more when `min_updates` asks for it.
    pub epochs: usize,
    /// Small catalogues need more passes than large benchmarks to converge: at least this many
    /// example updates are made in total.
    pub min_updates: usize,
    pub learning_rate: f32,
    /// L2 penalty per example (mean-loss scaling).
    pub l2: f32,
    pub seed: u64,
}

impl Default for TrainSettings {
    fn default() -> Self {
        Self {
            loss: Loss::Softmax,
            epochs: 12,
            min_updates: 150_000,
            learning_rate: 0.8,
            l2: 1e-5,
            seed: 0x5eed_0fde_5c00,
        }
    }
}

/// A trained softmax regression model.
#[derive(Debug, Clone)]
pub struct SoftmaxModel {
    loss: Loss,
    n_classes: usize,
    /// Row length in `weights`: `n_classes` rounded up to a multiple of 8 for vector loops.
    stride: usize,
    weights: Vec<f32>,
    bias: Vec<f32>,
}

impl SoftmaxModel {
    /// A model with no classes, a placeholder until training has run.
    pub fn empty() -> SoftmaxModel {
        SoftmaxModel {
            loss: Loss::Softmax,
            n_classes: 0,
            stride: 0,
            weights: Vec::new(),
            bias: Vec::new(),
        }
    }

    /// Trains on `inputs` with class indices `targets` (each `< n_classes`). `on_epoch` is
    /// told the epoch number and its mean loss, for progress reporting.
    pub fn train(
        inputs: &[SparseVector],
        targets: &[u32],
        n_classes: usize,
        dimension: usize,
        settings: &TrainSettings,
        mut on_epoch: impl FnMut(usize, f32),
    ) -> SoftmaxModel {
        assert_eq!(inputs.len(), targets.len(), "one target per input");
        assert!(n_classes >= 1);
        let stride = n_classes.div_ceil(8) * 8;
        let mut model = SoftmaxModel {
            loss: settings.loss,
            n_classes,
            stride,
            weights: vec![0.0; dimension * stride],
            bias: vec![0.0; stride],
        };
        if inputs.is_empty() {
            return model;
        }
        let mut order: Vec<usize> = (0..inputs.len()).collect();
        let mut rng = SplitMix64(settings.seed);
        let epochs = settings
            .epochs
            .max(settings.min_updates.div_ceil(inputs.len()));
        let total_steps = (epochs * inputs.len()) as f32;
        let mut step = 0usize;
        let mut scale = 1.0f32;
        let mut scores = vec![0.0f32; stride];
        for epoch in 0..epochs {
            rng.shuffle(&mut order);
            let mut loss = 0.0f64;
            for &i in &order {
                let eta = settings.learning_rate * (1.0 - step as f32 / total_steps).max(1e-4);
                step += 1;
                let x = &inputs[i];
                let target = targets[i] as usize;
                model.scores_scaled(x, scale, &mut scores);
                match settings.loss {
                    Loss::Softmax => {
                        softmax_in_place(&mut scores[..n_classes]);
                        loss -= f64::from(scores[target].max(1e-12).ln());
                    }
                    Loss::OneVsRest => {
                        sigmoid_in_place(&mut scores[..n_classes]);
                        for (k, p) in scores[..n_classes].iter().enumerate() {
                            let p = if k == target { *p } else { 1.0 - *p };
                            loss -= f64::from(p.max(1e-12).ln());
                        }
                    }
                }
                // gradient of the cross-entropy w.r.t. the scores: p - onehot(target)
                scores[target] -= 1.0;
                for (b, g) in model.bias.iter_mut().zip(&scores[..n_classes]) {
                    *b -= eta * g;
                }
                scale *= 1.0 - eta * settings.l2;
                let step_over_scale = eta / scale;
                for (feature, value) in x.iter() {
                    let row = model.row_mut(feature as usize);
                    let a = step_over_scale * value;
                    for (w, g) in row.iter_mut().zip(&scores[..]) {
                        *w -= a * g;
                    }
                }
                if scale < 1e-6 {
                    model.weights.iter_mut().for_each(|w| *w *= scale);
                    scale = 1.0;
                }
            }
            on_epoch(epoch + 1, (loss / inputs.len() as f64) as f32);
        }
        if scale != 1.0 {
            model.weights.iter_mut().for_each(|w| *w *= scale);
        }
        model
    }

    pub fn n_classes(&self) -> usize {
        self.n_classes
    }

    /// Class probabilities for `x`, written into `out` (length `n_classes`).
    pub fn probabilities(&self, x: &SparseVector, out: &mut Vec<f32>) {
        out.clear();
        out.resize(self.stride, 0.0);
        self.scores_scaled(x, 1.0, out);
        out.truncate(self.n_classes);
        match self.loss {
            Loss::Softmax => softmax_in_place(out),
            Loss::OneVsRest => sigmoid_in_place(out),
        }
    }

    /// Unnormalised class scores for `x`, written into `out` (length `n_classes`).
    pub fn logits(&self, x: &SparseVector, out: &mut Vec<f32>) {
        out.clear();
        out.resize(self.stride, 0.0);
        self.scores_scaled(x, 1.0, out);
        out.truncate(self.n_classes);
    }

    fn row(&self, feature: usize) -> &[f32] {
        &self.weights[feature * self.stride..(feature + 1) * self.stride]
    }

    fn row_mut(&mut self, feature: usize) -> &mut [f32] {
        &mut self.weights[feature * self.stride..(feature + 1) * self.stride]
    }

    fn scores_scaled(&self, x: &SparseVector, scale: f32, out: &mut [f32]) {
        out.copy_from_slice(&self.bias);
        for (feature, value) in x.iter() {
            let a = value * scale;
            for (s, w) in out.iter_mut().zip(self.row(feature as usize)) {
                *s += a * w;
            }
        }
    }
}

fn sigmoid_in_place(scores: &mut [f32]) {
    for s in scores.iter_mut() {
        *s = 1.0 / (1.0 + (-*s).exp());
    }
}

fn softmax_in_place(scores: &mut [f32]) {
    let max = scores.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for s in scores.iter_mut() {
        *s = (*s - max).exp();
        sum += *s;
    }
    for s in scores.iter_mut() {
        *s /= sum;
    }
}

/// A small seeded generator for shuffling; reproducible across platforms and releases.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn shuffle<T>(&mut self, items: &mut [T]) {
        for i in (1..items.len()).rev() {
            let j = (self.next() % (i as u64 + 1)) as usize;
            items.swap(i, j);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn one_hot(feature: u32) -> SparseVector {
        SparseVector {
            indices: vec![feature],
            values: vec![1.0],
        }
    }

    #[test]
    fn softmax_sums_to_one_and_is_stable_for_large_scores() {
        let mut s = vec![1000.0, 1001.0, 999.0];
        softmax_in_place(&mut s);
        assert!((s.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!(s[1] > s[0] && s[0] > s[2]);
    }

    #[test]
    fn learns_a_separable_problem() {
        let inputs: Vec<_> = (0..30).map(|i| one_hot(i % 3)).collect();
        let targets: Vec<u32> = (0..30).map(|i| i % 3).collect();
        let mut losses = Vec::new();
        let model = SoftmaxModel::train(
            &inputs,
            &targets,
            3,
            3,
            &TrainSettings::default(),
            |_, l| losses.push(l),
        );
        assert!(losses.last().unwrap() < &losses[0]);
        let mut p = Vec::new();
        for class in 0..3 {
            model.probabilities(&one_hot(class), &mut p);
            let best = (0..3).max_by(|a, b| p[*a].total_cmp(&p[*b])).unwrap();
            assert_eq!(best, class as usize);
            assert!(p[class as usize] > 0.8, "{p:?}");
        }
    }

    #[test]
    fn same_data_gives_the_same_model() {
        let inputs: Vec<_> = (0..20).map(|i| one_hot(i % 4)).collect();
        let targets: Vec<u32> = (0..20).map(|i| i % 2).collect();
        let train = || {
            SoftmaxModel::train(
                &inputs,
                &targets,
                2,
                4,
                &TrainSettings::default(),
                |_, _| {},
            )
        };
        assert_eq!(train().weights, train().weights);
    }

    #[test]
    fn unknown_input_falls_back_to_class_priors() {
        // 3 of class 0, 1 of class 1: an empty vector should lean to class 0
        let inputs = vec![one_hot(0), one_hot(0), one_hot(0), one_hot(1)];
        let model = SoftmaxModel::train(
            &inputs,
            &[0, 0, 0, 1],
            2,
            2,
            &TrainSettings::default(),
            |_, _| {},
        );
        let mut p = Vec::new();
        model.probabilities(&SparseVector::default(), &mut p);
        assert!(p[0] > p[1], "{p:?}");
    }
}
