"""The PRNG is the contract: the same numbers as src/rpg/prng.ts (pinned there too), and the
bulk tensor draws equal to the scalar generator draw for draw."""
import random
import unittest

import _helpers  # noqa: F401
import torch

from rpg_torch import streams
from rpg_torch.prng import Rng, cos_sin_turn, hash_string, ln_unit


class ScalarPins(unittest.TestCase):
    def test_uint32_ints_and_permutations_match_the_typescript_pins(self):
        r = Rng(1, "")
        self.assertEqual([r.next_uint32() for _ in range(3)], [3296685081, 292216795, 3203276040])
        r = Rng(7, "pin")
        ns = [2, 3, 10, 1000, 65537, 2147483647, 2147483648, 3000000000, 4294967295, 4294967296]
        self.assertEqual([r.next_int(n) for n in ns], [0, 0, 0, 887, 14867, 998964205, 123442607, 227300058, 1736589921, 2176707872])
        self.assertEqual(Rng(1, "pin").permutation(12), [8, 5, 7, 9, 3, 4, 2, 10, 11, 6, 0, 1])

    def test_normals_match_the_typescript_pins(self):
        r = Rng(1, "ring-init")
        self.assertEqual([r.next_normal() for _ in range(5)],
                         [-0.308629421839091, 0.41806814082848953, 0.24968531809348143, 1.4234067460753097, 0.26871873622044395])

    def test_stream_names_hash_utf16_code_units(self):
        self.assertEqual(hash_string(""), 0x811C9DC5)
        # 'é' is one UTF-16 unit, '😀' two (a surrogate pair), as charCodeAt sees them.
        self.assertNotEqual(hash_string("é"), hash_string("e"))
        self.assertNotEqual(hash_string("😀"), hash_string("\ud83d"))

    def test_log_and_trig_are_accurate(self):
        import math

        rng = random.Random(3)
        for _ in range(20000):
            k = rng.randrange(1, 2 ** 32)
            exact = math.log(k / 2 ** 32)
            self.assertLess(abs(ln_unit(k) - exact), 1e-15 * abs(exact) + 1e-300)
            w = rng.randrange(0, 2 ** 32)
            c, s = cos_sin_turn(w)
            self.assertLess(abs(c - math.cos(2 * math.pi * w / 2 ** 32)), 2e-15)
            self.assertLess(abs(s - math.sin(2 * math.pi * w / 2 ** 32)), 2e-15)

    def test_state_round_trip_keeps_the_spare_normal(self):
        a = Rng(2, "spare")
        a.next_normal()
        b = Rng.from_state(a.state())
        self.assertEqual(b.next_normal(), a.next_normal())
        self.assertEqual(b.next_uint32(), a.next_uint32())


class BulkEqualsScalar(unittest.TestCase):
    def test_raw_stream_and_jump(self):
        for n in (1, 4096, 4097, 50_003):
            r = Rng(5, f"raw{n}")
            raw, after = streams.raw_uint32(r.state(), n)
            self.assertEqual(raw.tolist(), [r.next_uint32() for _ in range(n)])
            self.assertEqual(after[:4], r.state()[:4])

    def test_permutations_continue_the_stream(self):
        # Several permutations from one stream, as ring mode draws one per layer.
        r = Rng(9, "ring-layer-permutation")
        state = r.state()
        for n in (5000, 1, 2, 9000, 70_001):
            p, state = streams.permutation(state, n)
            self.assertEqual(p.tolist(), r.permutation(n), n)
            self.assertEqual(state[:4], r.state()[:4])

    def test_permutation_with_rejected_draws(self):
        # A draw for next_int(m) is rejected with probability (2^32 mod m)/2^32: about
        # n²/2^33 ≈ 10 rejections over a 300,000-permutation, each shifting every later draw.
        n = 300_000
        r = Rng(11, "rejections")
        state = r.state()
        p, after = streams.permutation(state, n)
        self.assertEqual(p.tolist(), r.permutation(n))
        self.assertEqual(after[:4], r.state()[:4])
        self.assertNotEqual(after[:4], streams.jump(state, n - 1)[:4], "this stream has rejected draws")

    def test_compose_swaps_matches_fisher_yates(self):
        g = torch.Generator().manual_seed(0)
        for n in (2, 3, 5, 17, 200, 1000):
            for _ in range(20):
                j = torch.zeros(n, dtype=torch.int64)
                for i in range(1, n):
                    j[i] = int(torch.randint(0, i + 1, (1,), generator=g))
                a = list(range(n))
                for i in range(n - 1, 0, -1):
                    k = int(j[i])
                    a[i], a[k] = a[k], a[i]
                self.assertEqual(streams._compose_swaps(j).tolist(), a)

    def test_normals_with_and_without_a_spare(self):
        for n in (2049, 10_000, 10_001):
            r = Rng(4, f"n{n}")
            r.next_normal()  # leaves a spare in the state
            z, after = streams.normals(r.state(), n)
            self.assertEqual(z.tolist(), [r.next_normal() for _ in range(n)])
            self.assertEqual(after, r.state())

    def test_normals_skip_zero_radius_draws(self):
        # A u draw of 0 is skipped by next_normal; find a stream position with a zero via a
        # crafted state: the draw after state s is rotl(b*5,7)*9, zero iff b == 0.
        state = (123, 0, 456, 789, None)
        r = Rng.from_state(state)
        first = r.next_uint32()
        self.assertEqual(first, 0)
        z, after = streams.normals(state, 5000)
        r = Rng.from_state(state)
        self.assertEqual(z.tolist(), [r.next_normal() for _ in range(5000)])
        self.assertEqual(after, r.state())

    def test_signs(self):
        r = Rng(3, "signs")
        s, _ = streams.signs(r.state(), 9999)
        self.assertEqual(s.tolist(), [r.next_sign() for _ in range(9999)])


if __name__ == "__main__":
    unittest.main()
