/**
 * Optimizers with PyTorch's update rules (torch.optim, 1.13), so that a recipe means the same
 * here as in the tutorial: epsilon outside the square root, L2 `weight_decay` added to the
 * gradient, AdamW's decay decoupled, RAdam's rectification. tfjs ships some of these with other
 * conventions and lacks AdamW and RAdam, so all of them live here, on one interface.
 *
 * The learning rate is passed to every step, so schedules need no optimizer internals.
 * test/optimizer.test.ts checks each rule against plain arithmetic.
 */
import {
  add,
  div,
  dispose,
  minimum,
  mul,
  scalar,
  sqrt,
  square,
  sub,
  sum,
  tidy,
  zerosLike,
  type Scalar,
  type Tensor,
  type Variable,
} from '@tensorflow/tfjs';
import type { Experiment } from '../config/experiment.types.js';

export type OptimizerConfig = Experiment['optimizer'];

export interface Optimizer {
  /** Applies one update to each variable from its gradient (same order as the variables). */
  step(variables: Variable[], grads: Tensor[], lr: number): void;
  dispose(): void;
}

/** Per-variable state tensors, created on first use. */
class Slots {
  private readonly slots = new Map<Variable, Variable[]>();

  constructor(private readonly count: number) {}

  of(v: Variable): Variable[] {
    let s = this.slots.get(v);
    if (!s) {
      s = Array.from({ length: this.count }, () => tidy(() => zerosLike(v).variable(false)));
      this.slots.set(v, s);
    }
    return s;
  }

  dispose(): void {
    for (const s of this.slots.values()) dispose(s);
    this.slots.clear();
  }
}

/** The gradient with L2 weight decay folded in (coupled decay, as torch.optim does by default). */
function decayed(g: Tensor, v: Variable, weightDecay: number): Tensor {
  return weightDecay > 0 ? add(g, mul(v, weightDecay)) : g;
}

/** SGD's momentum when the file gives none: the classic 0.9 (torch.optim's default is 0). */
export const SGD_MOMENTUM = 0.9;

function sgd(c: OptimizerConfig): Optimizer {
  const slots = new Slots(1);
  const momentum = c.momentum ?? SGD_MOMENTUM;
  return {
    step(vars, grads, lr) {
      tidy(() => vars.forEach((v, i) => {
        let g = decayed(grads[i], v, c.weight_decay);
        if (momentum > 0) {
          const [buf] = slots.of(v);
          buf.assign(add(mul(buf, momentum), g));
          g = c.nesterov ? add(g, mul(buf, momentum)) : buf;
        }
        v.assign(sub(v, mul(g, lr)));
      }));
    },
    dispose: () => slots.dispose(),
  };
}

/** Adam, AdamW (decoupled decay) and RAdam share their moment estimates. */
function adamFamily(c: OptimizerConfig, kind: 'adam' | 'adamw' | 'radam'): Optimizer {
  const slots = new Slots(2);
  const { beta1: b1, beta2: b2, epsilon: eps } = c;
  let t = 0;
  return {
    step(vars, grads, lr) {
      t++;
      const bc1 = 1 - b1 ** t;
      const bc2 = 1 - b2 ** t;
      // RAdam: the variance of the adaptive rate is tractable only once rho_t > 5.
      const rhoInf = 2 / (1 - b2) - 1;
      const rhoT = rhoInf - (2 * t * b2 ** t) / bc2;
      const rectified = kind !== 'radam' || rhoT > 5;
      const rect = kind === 'radam' && rectified ? Math.sqrt(((rhoT - 4) * (rhoT - 2) * rhoInf) / ((rhoInf - 4) * (rhoInf - 2) * rhoT)) : 1;
      tidy(() => vars.forEach((v, i) => {
        const [m, s] = slots.of(v);
        if (kind === 'adamw' && c.weight_decay > 0) v.assign(mul(v, 1 - lr * c.weight_decay));
        const g = kind === 'adamw' ? grads[i] : decayed(grads[i], v, c.weight_decay);
        m.assign(add(mul(m, b1), mul(g, 1 - b1)));
        s.assign(add(mul(s, b2), mul(square(g), 1 - b2)));
        const mHat = div(m, bc1);
        // torch.optim puts epsilon after the bias correction in Adam, before it in RAdam.
        const update = !rectified
          ? mHat
          : kind === 'radam'
            ? div(mul(mHat, rect * Math.sqrt(bc2)), add(sqrt(s), eps))
            : div(mHat, add(div(sqrt(s), Math.sqrt(bc2)), eps));
        v.assign(sub(v, mul(update, lr)));
      }));
    },
    dispose: () => slots.dispose(),
  };
}

function rmsprop(c: OptimizerConfig): Optimizer {
  const slots = new Slots(2);
  const momentum = c.momentum ?? 0;
  return {
    step(vars, grads, lr) {
      tidy(() => vars.forEach((v, i) => {
        const [sq, buf] = slots.of(v);
        const g = decayed(grads[i], v, c.weight_decay);
        sq.assign(add(mul(sq, c.alpha), mul(square(g), 1 - c.alpha)));
        let update = div(g, add(sqrt(sq), c.epsilon));
        if (momentum > 0) {
          buf.assign(add(mul(buf, momentum), update));
          update = buf;
        }
        v.assign(sub(v, mul(update, lr)));
      }));
    },
    dispose: () => slots.dispose(),
  };
}

function adagrad(c: OptimizerConfig): Optimizer {
  const slots = new Slots(1);
  return {
    step(vars, grads, lr) {
      tidy(() => vars.forEach((v, i) => {
        const [sum] = slots.of(v);
        const g = decayed(grads[i], v, c.weight_decay);
        sum.assign(add(sum, square(g)));
        v.assign(sub(v, mul(div(g, add(sqrt(sum), c.epsilon)), lr)));
      }));
    },
    dispose: () => slots.dispose(),
  };
}

export function buildOptimizer(config: OptimizerConfig): Optimizer {
  switch (config.name) {
    case 'sgd':
      return sgd(config);
    case 'adam':
    case 'adamw':
    case 'radam':
      return adamFamily(config, config.name);
    case 'rmsprop':
      return rmsprop(config);
    case 'adagrad':
      return adagrad(config);
  }
}

/**
 * Scales the gradients so that their global L2 norm is at most maxNorm (as
 * torch.nn.utils.clip_grad_norm_); returns them unchanged when maxNorm is 0.
 */
export function clipByGlobalNorm(grads: Tensor[], maxNorm: number): Tensor[] {
  if (maxNorm <= 0) return grads;
  return tidy(() => {
    const total = sqrt(grads.map((g) => sum(square(g))).reduce((a, b) => add(a, b)) as Scalar);
    const coef = minimum(div(scalar(maxNorm), add(total, 1e-6)), 1);
    return grads.map((g) => mul(g, coef));
  });
}
