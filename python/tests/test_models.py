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
        # torchvision's vgg11_bn, vgg16_bn and mobilenet_v2.
        self.assertEqual(param_count(spec("vgg11", 224, 224, 3, 1000)), 132_868_840)
        self.assertEqual(param_count(spec("vgg16", 224, 224, 3, 1000)), 138_365_992)
        self.assertEqual(param_count(spec("mobilenetv2", 224, 224, 3, 1000)), 3_504_872)

    def test_vit_closed_form(self):
        # patch embedding + class token + position table + depth × (2 LN + 4 projections + MLP) + LN + head.
        d, m, t, p, depth, k = 64, 128, 49, 4, 4, 10
        block = 2 * 2 * d + 4 * (d * d + d) + (d * m + m) + (m * d + d)
        self.assertEqual(param_count(spec("vit", 28, 28, 1)), (p * p * d + d) + d + (t + 1) * d + depth * block + 2 * d + (d * k + k))
        self.assertEqual(param_count(spec("vit", 28, 28, 1)), 139_018)
        s = spec("vit", 28, 28, 1, vit={"dim": 32, "heads": 4})
        self.assertEqual([p.kind for p in s.params[:6]], ["conv", "bias", "token", "position", "ln-gamma", "ln-beta"])
        self.assertEqual((s.params[0].position, s.param("head.kernel").position), ("first", "last"))
        with self.assertRaises(ShapeError):
            spec("vit", 28, 28, 1, vit={"dim": 30, "heads": 4})

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
                                   ("resnet18", {"width": 0.125}, (32, 32, 3)), ("resnet34", {"width": 0.125, "smallInput": True}, (16, 16, 3)),
                                   ("vgg11", {"width": 0.125, "smallInput": True}, (32, 32, 3)), ("vgg16", {"width": 0.0625}, (32, 32, 3)),
                                   ("mobilenetv2", {"width": 0.25}, (28, 28, 1)),
                                   ("vit", {"vit": {"patch": 7, "dim": 16, "depth": 2, "heads": 2, "mlpDim": 32, "dropout": 0.1}}, (28, 28, 1))):
            config = validate_config({"model": {"arch": arch, **extra}, "rpg": {"dof": "20%"}})
            s = build_model_spec(config["model"], *shape, 10)
            net = RpgNetwork(s, materialize_plan(build_plan(s, config["rpg"], 1)), 1)
            logits = net(torch.randn(2, shape[2], shape[0], shape[1]))
            self.assertEqual(tuple(logits.shape), (2, 10), arch)
            logits.sum().backward()
            self.assertIsNotNone(net.ring.grad, arch)


class Plans(unittest.TestCase):
    def test_generate_all_rpg_free_scales_and_bases_as_the_typescript_plan(self):
        from rpg_torch.plan import PlanError, add_layer_bases, generate_weights, he_std, initial_ring
        config = validate_config({"model": {"arch": "resnet20", "width": 0.25}, "rpg": {"dof": 100, "generate": "all", "free": ["layer3"]}})
        s = build_model_spec(config["model"], 32, 32, 3, 10)
        plan = build_plan(s, config["rpg"], 1)
        # buildPlan in TypeScript, same config and seed.
        self.assertEqual((plan.hash, plan.generatedCount), ("cf013ad1286848c1", 4462))
        self.assertEqual([(l.param.name, l.scale, l.base) for l in plan.layers[:3]],
                         [("conv1.kernel", 11.313708498984761, 0.0), ("conv1.bn.gamma", 11.313708498984761, 1.0), ("conv1.bn.beta", 11.313708498984761, 0.0)])
        self.assertEqual(plan.freeReasons["layer3.0.conv1.bn.gamma"], 'rpg.free "layer3"')
        mp = materialize_plan(plan)
        ring = initial_ring(plan)
        gamma = add_layer_bases(plan, generate_weights(mp, ring))[plan.layers[1].offset:plan.layers[1].offset + 4]
        self.assertTrue(torch.equal(gamma, generate_weights(mp, ring)[plan.layers[1].offset:plan.layers[1].offset + 4] + 1))
        with self.assertRaises(PlanError) as e:
            build_plan(s, {**config["rpg"], "free": ["stem", "layer9"]}, 1)
        self.assertEqual((str(e.exception), e.exception.field),
                         ('rpg.free: "layer9" is neither a kind (conv, depthwise, dense, attention, embedding, stem, head) nor a layer of resnet20', "rpg.free.1"))
        # heStd by kind: attention 1/√fan-in, embedding 1/√dim, depthwise He fan-out.
        v = spec("vit", 28, 28, 1)
        self.assertEqual(he_std(v.param("blocks.0.attn.query.kernel")), (1 / 64) ** 0.5)
        m = spec("mobilenetv2", 28, 28, 1, width=0.25)
        self.assertEqual(he_std(m.param("features.1.depthwise.kernel")), (2 / 9) ** 0.5)

    def test_initial_free_values_of_the_new_kinds(self):
        from rpg_torch.plan import initial_free_value
        v = spec("vit", 28, 28, 1)
        self.assertTrue(torch.equal(initial_free_value(v.param("blocks.0.norm1.gamma"), 1), torch.ones(64)))
        self.assertTrue(torch.equal(initial_free_value(v.param("blocks.0.norm1.beta"), 1), torch.zeros(64)))
        pos = initial_free_value(v.param("pos_embed.embeddings"), 1)
        self.assertEqual(tuple(pos.shape), (50, 64))
        self.assertAlmostEqual(float(pos.std()), 0.02, delta=0.002)


def graph_net(ops, params, input_shape=(6, 6, 4), seed=1):
    """A plain network over hand-written ops (no ring): every parameter free, from the seed."""
    from rpg_torch.models import ModelSpec, ParamSpec
    ps = []
    for name, shape, kind in params:
        size = 1
        for d in shape:
            size *= d
        ps.append(ParamSpec(name, tuple(shape), kind, size, max(1, size // shape[-1]), shape[-1], name.split(".")[0], "middle"))
    s = ModelSpec("test", input_shape, 10, ps, ops, "input", ops[-1]["output"])
    return RpgNetwork(spec_from_json(s.to_json()), None, seed)


def nhwc_input(n, h, w, c, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, h, w, c, generator=g, dtype=torch.float64)


class GraphOps(unittest.TestCase):
    """The ops graphs added, against their TensorFlow definitions written out (float64)."""

    def run_op(self, op, params, x_nhwc, training=False):
        net = graph_net([op], params, tuple(x_nhwc.shape[1:])).double()
        net.train(training)
        x = x_nhwc.permute(0, 3, 1, 2) if x_nhwc.dim() == 4 else x_nhwc
        return net, net(x)

    def test_depthwise_is_one_filter_per_channel_and_multiplier(self):
        x = nhwc_input(2, 7, 7, 3)
        op = {"op": "depthwise", "name": "dw", "input": "input", "output": "y", "weight": "dw.kernel", "stride": 2, "padding": "same"}
        net, y = self.run_op(op, [("dw.kernel", (3, 3, 3, 2), "depthwise")], x)
        w = net.variable("dw.kernel").detach()
        y = y.permute(0, 2, 3, 1)  # NHWC: channel c·m + j
        (pt, _), (pl, _) = same_padding(7, 3, 2), same_padding(7, 3, 2)
        xp = F.pad(x.permute(0, 3, 1, 2), (pl, 1, pt, 1)).permute(0, 2, 3, 1)
        for (oy, ox, c, j) in ((0, 0, 0, 0), (1, 2, 2, 1), (3, 3, 1, 1)):
            ref = sum(float(xp[1, oy * 2 + i, ox * 2 + k, c] * w[i, k, c, j]) for i in range(3) for k in range(3))
            self.assertAlmostEqual(float(y[1, oy, ox, c * 2 + j]), ref, places=10)

    def test_grouped_and_dilated_convolutions(self):
        x = nhwc_input(2, 8, 8, 4)
        op = {"op": "conv", "name": "g", "input": "input", "output": "y", "weight": "g.kernel", "stride": 1, "padding": "same", "dilation": 2, "groups": 2}
        net, y = self.run_op(op, [("g.kernel", (3, 3, 2, 6), "conv")], x)
        w = net.variable("g.kernel").detach()
        y = y.permute(0, 2, 3, 1)
        xp = F.pad(x.permute(0, 3, 1, 2), (2, 2, 2, 2)).permute(0, 2, 3, 1)  # "same" of the 5×5 dilated window
        for (oy, ox, o) in ((0, 0, 0), (4, 5, 4), (7, 7, 5)):
            g = o // 3  # output channels 0-2 read input channels 0-1, 3-5 read 2-3
            ref = sum(float(xp[0, oy + 2 * i, ox + 2 * k, g * 2 + ci] * w[i, k, ci, o]) for i in range(3) for k in range(3) for ci in range(2))
            self.assertAlmostEqual(float(y[0, oy, ox, o]), ref, places=10)

    def test_average_pool_same_counts_only_positions_inside(self):
        x = nhwc_input(1, 5, 5, 2)
        net, y = self.run_op({"op": "avgpool", "input": "input", "output": "y", "size": 3, "stride": 2, "padding": "same"}, [], x)
        y = y.permute(0, 2, 3, 1)
        self.assertEqual(tuple(y.shape), (1, 3, 3, 2))
        # 5 → 3 with k 3, s 2: padding (1, 1); the corner window holds 2×2 positions of the image.
        self.assertAlmostEqual(float(y[0, 0, 0, 1]), float(x[0, 0:2, 0:2, 1].mean()), places=12)
        self.assertAlmostEqual(float(y[0, 1, 1, 0]), float(x[0, 1:4, 1:4, 0].mean()), places=12)

    def test_global_max_gradient_reaches_every_tie(self):
        x = torch.tensor([[[[1.0, 3.0], [3.0, 3.0], [2.0, 1.0]]]], dtype=torch.float64, requires_grad=True)  # NHWC 1×3×2
        ops = [{"op": "reshape", "input": "input", "output": "seq", "shape": [3, 2]}, {"op": "globalmaxpool", "input": "seq", "output": "y"}]
        net = graph_net(ops, [], (1, 3, 2)).double()
        net(x.permute(0, 3, 1, 2)).sum().backward()
        self.assertEqual(x.grad.tolist(), [[[[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]]])  # tf.max: dy to each tie
        x.grad = None
        net = graph_net([{"op": "globalmaxpool", "input": "input", "output": "y"}], [], (1, 3, 2)).double()
        net(x.permute(0, 3, 1, 2)).sum().backward()
        self.assertEqual(x.grad.tolist(), [[[[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]]])

    def test_embedding_floors_and_clips_the_ids(self):
        x = torch.tensor([[-1.5, 0.2], [2.9, 7.0]], dtype=torch.float64)  # two images of 1×2×1
        ops = [{"op": "flatten", "input": "input", "output": "ids"},
               {"op": "embedding", "name": "e", "input": "ids", "output": "y", "weight": "e.embeddings"}]
        net = graph_net(ops, [("e.embeddings", (4, 3), "embedding")], (1, 2, 1)).double()
        table = net.variable("e.embeddings").detach()
        y = net(x.reshape(2, 1, 1, 2))
        self.assertTrue(torch.equal(y, table[torch.tensor([[0, 0], [2, 3]])]))
        y.sum().backward()
        self.assertEqual(net.variable("e.embeddings").grad[:, 0].tolist(), [2.0, 0.0, 1.0, 1.0])

    def test_attention_is_softmax_of_scaled_scores_per_head(self):
        x = nhwc_input(1, 5, 8, 1)
        params = [("a.q", (8, 6), "attention"), ("a.k", (8, 6), "attention"), ("a.v", (8, 6), "attention"), ("a.o", (6, 8), "attention"), ("a.ob", (8,), "bias")]
        ops = [{"op": "reshape", "input": "input", "output": "seq", "shape": [5, 8]},
               {"op": "attention", "name": "a", "input": "seq", "output": "y", "heads": 2, "query": "a.q", "key": "a.k", "value": "a.v", "out": "a.o", "outBias": "a.ob"}]
        net = graph_net(ops, params, (5, 8, 1)).double()
        with torch.no_grad():
            net.variable("a.ob").copy_(torch.arange(8.0))
        y = net(x.permute(0, 3, 1, 2))
        x = x.reshape(1, 5, 8)
        w = {n: net.variable(n).detach() for n in ("a.q", "a.k", "a.v", "a.o", "a.ob")}
        q, k, v = x[0] @ w["a.q"], x[0] @ w["a.k"], x[0] @ w["a.v"]
        heads = [torch.softmax(q[:, h * 3:(h + 1) * 3] @ k[:, h * 3:(h + 1) * 3].t() / 3 ** 0.5, -1) @ v[:, h * 3:(h + 1) * 3] for h in range(2)]
        ref = torch.cat(heads, 1) @ w["a.o"] + w["a.ob"]
        self.assertTrue(torch.allclose(y[0], ref, atol=1e-12))

    def test_tokens_layer_norm_on_an_image_and_reshape_read_the_typescript_layout(self):
        x = nhwc_input(2, 2, 3, 4)
        ops = [
            {"op": "layernorm", "name": "ln", "input": "input", "output": "a", "gamma": "ln.gamma", "beta": "ln.beta", "epsilon": 1e-5},
            {"op": "reshape", "input": "a", "output": "b", "shape": [6, 4]},
            {"op": "class-token", "name": "cls", "input": "b", "output": "c", "token": "cls.token"},
            {"op": "position-embedding", "name": "pos", "input": "c", "output": "d", "table": "pos.embeddings"},
            {"op": "select-token", "input": "d", "output": "e", "index": 3},
        ]
        params = [("ln.gamma", (4,), "ln-gamma"), ("ln.beta", (4,), "ln-beta"), ("cls.token", (4,), "token"), ("pos.embeddings", (7, 4), "position")]
        net = graph_net(ops, params, (2, 3, 4)).double()
        y = net(x.permute(0, 3, 1, 2))
        normed = F.layer_norm(x, (4,))  # over the channels, NHWC
        # token 3 is image position 2 (row 0, column 2) after the class token.
        ref = normed[:, 0, 2, :] + net.variable("pos.embeddings").detach()[3]
        self.assertTrue(torch.allclose(y, ref, atol=1e-12))

    def test_concat_axes_and_dropout_rows(self):
        x = nhwc_input(4, 2, 3, 2)
        ops = [{"op": "concat", "inputs": ["input", "input"], "output": "a", "axis": 0},
               {"op": "concat", "inputs": ["a", "a"], "output": "b", "axis": 2},
               {"op": "dropout", "name": "drop", "input": "b", "output": "c", "rate": 0.5},
               {"op": "flatten", "input": "c", "output": "y"}]
        net = graph_net(ops, [], (2, 3, 2)).double()
        net.eval()
        y = net(x.permute(0, 3, 1, 2))
        ref = torch.cat([torch.cat([x, x], 1)] * 2, 3).reshape(4, -1)  # NHWC: rows, then channels
        self.assertTrue(torch.equal(y, ref))
        net.train()
        net.step, net.global_batch = 3, 4
        full = net(x.permute(0, 3, 1, 2))
        part = net(x[2:].permute(0, 3, 1, 2), torch.tensor([2, 3]))  # rows 2-3 of the same global batch
        self.assertTrue(torch.equal(part, full[2:]))
        self.assertTrue(bool(((full == 0) | (full == 2 * ref)).all()))


if __name__ == "__main__":
    unittest.main()
