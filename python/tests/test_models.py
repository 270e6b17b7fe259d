"""Architectures as data: published parameter counts, shapes, and the executor's semantics
(TensorFlow "same" padding, NHWC flatten, option-A shortcuts, the BatchNorm and ring gradients)."""
import unittest

import _helpers  # noqa: F401
import torch
import torch.nn.functional as F

from rpg_torch.config import validate_config
from rpg_torch.models import ShapeError, build_model_spec, param_count, spec_from_json
from rpg_torch.network import RingGather, RpgNetwork, TwoPassBatchNorm, same_padding
from rpg_torch.plan import build_plan, materialize_plan


def spec(arch, h=32, w=32, c=3, k=10, **model):
    return build_model_spec(validate_config({"model": {"arch": arch, **model}})["model"], h, w, c, k)


class Counts(unittest.TestCase):
    def test_published_parameter_counts(self):
        self.assertEqual(param_count(spec("resnet20")), 269_722)
        self.assertEqual(param_count(spec("resnet32")), 464_154)
        self.assertEqual(param_count(spec("resnet56")), 853_018)
        self.assertEqual(param_count(spec("resnet18", 224, 224, 3, 1000)), 11_689_512)
        self.assertEqual(param_count(spec("resnet34", 224, 224, 3, 1000)), 21_797_672)
        self.assertEqual(param_count(spec("lenet5", 28, 28, 1)), 44_426)

    def test_names_order_and_positions(self):
        s = spec("lenet5", 28, 28, 1)
        self.assertEqual([p.name for p in s.params], ["conv1.kernel", "conv1.bias", "conv2.kernel", "conv2.bias", "fc1.kernel", "fc1.bias",
                                                     "fc2.kernel", "fc2.bias", "fc3.kernel", "fc3.bias"])
        self.assertEqual(s.params[0].shape, (5, 5, 1, 6))
        self.assertEqual((s.params[0].position, s.params[4].position, s.params[9].position), ("first", "middle", "last"))
        self.assertEqual((s.params[2].fanIn, s.params[2].fanOut), (150, 400))

    def test_width_multiplier_rounds_as_math_round(self):
        s = spec("resnet20", width=0.25)  # 16·0.25 = 4, 32·0.25 = 8, 64·0.25 = 16
        self.assertEqual(s.param("layer3.0.conv1.kernel").shape, (3, 3, 8, 16))
        self.assertEqual(spec("lenet5", 28, 28, 1, width=0.75).param("conv1.kernel").shape, (5, 5, 1, 5))  # 4.5 → 5

    def test_too_small_inputs_are_shape_errors(self):
        with self.assertRaises(ShapeError):
            spec("lenet5", 12, 12, 1)

    def test_json_round_trip(self):
        s = spec("resnet18", 64, 64, 3, smallInput=False)
        again = spec_from_json(s.to_json())
        self.assertEqual(again.to_json(), s.to_json())


class Executor(unittest.TestCase):
    def test_same_padding_is_tensorflows(self):
        self.assertEqual(same_padding(224, 7, 2), (2, 3))  # torchvision pads (3, 3)
        self.assertEqual(same_padding(9, 7, 2), (3, 3))
        self.assertEqual(same_padding(112, 3, 2), (0, 1))
        self.assertEqual(same_padding(32, 3, 1), (1, 1))

    def test_conv_is_an_nhwc_hwio_convolution(self):
        # A direct loop over the TensorFlow definition for one output pixel.
        s = spec("resnet18", 9, 9, 2, 3, width=0.0625)
        mp = None
        net = RpgNetwork(s, mp, 4)
        x = torch.randn(1, 9, 9, 2, generator=torch.Generator().manual_seed(1))
        w = net.variable("conv1.kernel").detach()  # [7, 7, 2, 4]
        y = net._run_op(s.ops[0], {"input": x.permute(0, 3, 1, 2)}, lambda n: net.variable(n))
        # 9×9 stride 2 "same": out 5, total padding (5−1)·2 + 7 − 9 = 6, 3 before.
        oy, ox, co = 1, 2, 3
        acc = 0.0
        for i in range(7):
            for j in range(7):
                r, c = oy * 2 + i - 3, ox * 2 + j - 3
                if 0 <= r < 9 and 0 <= c < 9:
                    acc += float((x[0, r, c, :] * w[i, j, :, co]).sum())
        self.assertAlmostEqual(float(y[0, co, oy, ox]), acc, places=5)

    def test_flatten_reads_nhwc(self):
        s = spec("lenet5", 28, 28, 1)
        net = RpgNetwork(s, None, 1)
        x = torch.arange(2 * 3 * 4 * 5, dtype=torch.float32).reshape(2, 3, 4, 5)  # NCHW
        out = net._run_op({"op": "flatten", "input": "a", "output": "b"}, {"a": x}, None)
        self.assertTrue(torch.equal(out, x.permute(0, 2, 3, 1).reshape(2, -1)))

    def test_pad_shortcut_subsamples_and_centres_the_channels(self):
        net = RpgNetwork(spec("resnet20"), None, 1)
        x = torch.randn(2, 16, 8, 8)
        y = net._run_op({"op": "pad-shortcut", "input": "a", "output": "b", "stride": 2, "outChannels": 32}, {"a": x}, None)
        self.assertEqual(tuple(y.shape), (2, 32, 4, 4))
        self.assertTrue(torch.equal(y[:, 8:24], x[:, :, ::2, ::2]))
        self.assertEqual(float(y[:, :8].abs().sum() + y[:, 24:].abs().sum()), 0.0)

    def test_batchnorm_gradient(self):
        x = torch.randn(4, 3, 5, 5, dtype=torch.float64, requires_grad=True)
        g = torch.rand(3, dtype=torch.float64, requires_grad=True)
        b = torch.randn(3, dtype=torch.float64, requires_grad=True)
        self.assertTrue(torch.autograd.gradcheck(lambda x, g, b: TwoPassBatchNorm.apply(x, g, b, 1e-5)[0], (x, g, b)))
        y = TwoPassBatchNorm.apply(x, g, b, 1e-5)[0]
        self.assertTrue(torch.allclose(y, F.batch_norm(x, None, None, g, b, True, 0.1, 1e-5)))

    def test_ring_gradient_is_the_gather_gradient(self):
        config = validate_config({"model": {"arch": "lenet5"}, "rpg": {"dof": 300, "sampling": "shuffled"}})
        s = build_model_spec(config["model"], 28, 28, 1, 10)
        mp = materialize_plan(build_plan(s, config["rpg"], 3))
        ring = torch.randn(300, dtype=torch.float64, requires_grad=True)
        ss = mp.sign_scale.double()
        out = RingGather.apply(ring, mp.index, ss, mp.uses.grad_gather)
        g = torch.randn_like(out)
        (ours,) = torch.autograd.grad(out, ring, g)
        ring2 = ring.detach().clone().requires_grad_(True)
        (ref,) = torch.autograd.grad(ss * ring2[mp.index], ring2, g)
        self.assertTrue(torch.allclose(ours, ref))

    def test_every_architecture_runs_forward_and_backward(self):
        for arch, extra, shape in (("mlp", {}, (28, 28, 1)), ("lenet5", {}, (28, 28, 1)), ("resnet20", {"width": 0.25}, (32, 32, 3)),
                                   ("resnet18", {"width": 0.125}, (32, 32, 3)), ("resnet34", {"width": 0.125, "smallInput": True}, (16, 16, 3))):
            config = validate_config({"model": {"arch": arch, **extra}, "rpg": {"dof": "20%"}})
            s = build_model_spec(config["model"], *shape, 10)
            net = RpgNetwork(s, materialize_plan(build_plan(s, config["rpg"], 1)), 1)
            logits = net(torch.randn(2, shape[2], shape[0], shape[1]))
            self.assertEqual(tuple(logits.shape), (2, 10), arch)
            logits.sum().backward()
            self.assertIsNotNone(net.ring.grad, arch)


if __name__ == "__main__":
    unittest.main()
