"""Dropout masks as the tfjs engine draws them: seedrandom's Alea (pinned values from
JavaScript), its jumped lanes against the sequential generator, tf.randomUniform's float32
values, the mask seed of network.ts, and the mask itself."""
import unittest

import _helpers  # noqa: F401
import torch

from rpg_torch.dropout import alea_float32, alea_reference, alea_uint32, dropout_multiplier, dropout_seed


class Alea(unittest.TestCase):
    def test_pinned_javascript_values(self):
        # seedrandom.alea("123")() and ("0")() in Node.
        self.assertEqual(alea_reference("123", 3), [0.4801303152926266, 0.06268894905224442, 0.463917750865221])
        self.assertEqual(alea_reference("0", 2), [0.5945264333859086, 0.8065849216654897])

    def test_lanes_jumped_with_the_congruential_form_continue_the_sequence(self):
        for seed in ("123", "4294967295", "7"):
            for count in (1, 63, 64, 65, 130, 1000):
                ours = (alea_uint32(seed, count).to(torch.float64) * 2.0 ** -32).tolist()
                self.assertEqual(ours, alea_reference(seed, count), (seed, count))

    def test_tf_random_uniform_values(self):
        # tf.randomUniform([1000], 0, 1, 'float32', 3735928559).dataSync() in Node.
        u = alea_float32("3735928559", 1000)
        self.assertEqual(u.dtype, torch.float32)
        self.assertEqual(u[:4].tolist(), [0.17214731872081757, 0.3355369567871094, 0.9295710921287537, 0.03174757957458496])
        self.assertEqual(u[997:].tolist(), [0.7260490655899048, 0.5846019387245178, 0.9733924865722656])


class Masks(unittest.TestCase):
    def test_seed_of_an_op_at_a_step(self):
        # (hashString(`dropout:${name}`) ^ imul(seed + 1, 0x9e3779b1) ^ imul(step + 1, 0x85ebca6b)) >>> 0 in Node.
        self.assertEqual(dropout_seed("blocks.0.attn.dropout", 1, 0), 2510248471)
        self.assertEqual(dropout_seed("classifier.dropout", 4294967295, 12345), 3286823944)

    def test_mask_keeps_with_probability_one_minus_rate_and_scales(self):
        m = dropout_multiplier([64, 7, 7, 8], 0.3, 12345)
        self.assertEqual(tuple(m.shape), (64, 7, 7, 8))
        scale = torch.tensor(1 / 0.7, dtype=torch.float32)
        self.assertTrue(bool(((m == 0) | (m == scale)).all()))
        kept = float((m > 0).float().mean())
        self.assertAlmostEqual(kept, 0.7, delta=0.02)
        u = alea_float32("12345", 64 * 7 * 7 * 8).reshape(64, 7, 7, 8)
        self.assertTrue(torch.equal(m > 0, u > torch.tensor(0.3, dtype=torch.float32)))


if __name__ == "__main__":
    unittest.main()
