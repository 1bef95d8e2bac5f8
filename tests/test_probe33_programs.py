"""Ordinary PyTorch programs, round 33 (the official tutorials' code end to end: quickstart,
autograd, "what is torch.nn really", optimization with schedulers, saving and loading,
transfer-learning freezing, seq2seq with attention, char-RNN classification, a Transformer
language model; custom autograd Functions, double backward, checkpointing, hooks,
parametrizations, pruning, named tensors' refusals, distributions, complex numbers, sparse
basics and printing under set_printoptions) run under ember and torch from the same seed:
everything they record must agree (the harness is rounds 17, 18 and 26's)."""
import io
import math

from probe_registry import Programs, log_outcome as _err
from test_probe17_programs import _module
from test_probe18_programs import _check

PROGRAMS = Programs()

program = PROGRAMS.always     # (every warning given each time)

_TRAIN = 1e-4


# ---- tutorials ------------------------------------------------------------------------------

@program(tol=_TRAIN)
def quickstart_fashion_mnist_shaped(torch, log):
    nn = torch.nn
    data = _module(torch, "utils.data")
    X = torch.rand(64, 1, 28, 28)
    y = torch.randint(0, 10, (64,))
    train = data.TensorDataset(X, y)
    loader = data.DataLoader(train, batch_size=16)
    for Xb, yb in loader:
        print(f"Shape of X [N, C, H, W]: {Xb.shape}")
        print(f"Shape of y: {yb.shape} {yb.dtype}")
        break

    class NeuralNetwork(nn.Module):
        def __init__(self):
            super().__init__()
            self.flatten = nn.Flatten()
            self.linear_relu_stack = nn.Sequential(
                nn.Linear(28 * 28, 32), nn.ReLU(), nn.Linear(32, 32), nn.ReLU(),
                nn.Linear(32, 10))

        def forward(self, x):
            return self.linear_relu_stack(self.flatten(x))

    model = NeuralNetwork()
    print(model)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3)
    size = len(loader.dataset)
    model.train()
    for batch, (Xb, yb) in enumerate(loader):
        pred = model(Xb)
        loss = loss_fn(pred, yb)
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
        if batch % 2 == 0:
            loss, current = loss.item(), (batch + 1) * len(Xb)
            log(loss)
            print(f"loss: {loss:>7f}  [{current:>5d}/{size:>5d}]")
    model.eval()
    test_loss, correct = 0, 0
    with torch.no_grad():
        for Xb, yb in loader:
            pred = model(Xb)
            test_loss += loss_fn(pred, yb).item()
            correct += (pred.argmax(1) == yb).type(torch.float).sum().item()
    log(test_loss / len(loader), correct / size)
    classes = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt",
               "Sneaker", "Bag", "Ankle boot"]
    with torch.no_grad():
        pred = model(X[0])
        log(classes[pred[0].argmax(0)], classes[y[0]])
    print(f"Model structure: {model}\n\n")
    for name, param in model.named_parameters():
        print(f"Layer: {name} | Size: {param.size()} | Values : {param[:2].shape} \n")
    logits = model(torch.rand(1, 28, 28))
    pred_probab = nn.Softmax(dim=1)(logits)
    log(pred_probab.argmax(1), pred_probab.sum())


@program(tol=1e-6)
def tensors_tutorial_basics(torch, log):
    data = [[1, 2], [3, 4]]
    x_data = torch.tensor(data)
    import numpy as np
    np_array = np.array(data)
    x_np = torch.from_numpy(np_array)
    x_ones = torch.ones_like(x_data)
    print(f"Ones Tensor: \n {x_ones} \n")
    x_rand = torch.rand_like(x_data, dtype=torch.float)
    print(f"Random Tensor: \n {x_rand} \n")
    shape = (2, 3,)
    print(f"Random Tensor: \n {torch.rand(shape)} \n")
    print(f"Ones Tensor: \n {torch.ones(shape)} \n")
    print(f"Zeros Tensor: \n {torch.zeros(shape)}")
    tensor = torch.rand(3, 4)
    print(f"Shape of tensor: {tensor.shape}")
    print(f"Datatype of tensor: {tensor.dtype}")
    print(f"Device tensor is stored on: {tensor.device}")
    tensor = torch.ones(4, 4)
    print(f"First row: {tensor[0]}")
    print(f"First column: {tensor[:, 0]}")
    print(f"Last column: {tensor[..., -1]}")
    tensor[:, 1] = 0
    print(tensor)
    t1 = torch.cat([tensor, tensor, tensor], dim=1)
    print(t1)
    y1 = tensor @ tensor.T
    y2 = tensor.matmul(tensor.T)
    y3 = torch.rand_like(y1)
    torch.matmul(tensor, tensor.T, out=y3)
    z1 = tensor * tensor
    z3 = torch.rand_like(tensor)
    torch.mul(tensor, tensor, out=z3)
    log(y1, y2, y3, z1, z3)
    agg = tensor.sum()
    agg_item = agg.item()
    print(agg_item, type(agg_item))
    print(f"{tensor} \n")
    tensor.add_(5)
    print(tensor)
    t = torch.ones(5)
    print(f"t: {t}")
    n = t.numpy()
    print(f"n: {n}")
    t.add_(1)
    print(f"t: {t}")
    print(f"n: {n}")
    n = np.ones(5)
    t = torch.from_numpy(n)
    np.add(n, 1, out=n)
    print(f"t: {t}")
    print(f"n: {n}")
    log(x_np.dtype, x_np)


@program(tol=1e-6)
def autograd_tutorial_end_to_end(torch, log):
    x = torch.ones(5)
    y = torch.zeros(3)
    w = torch.randn(5, 3, requires_grad=True)
    b = torch.randn(3, requires_grad=True)
    z = torch.matmul(x, w) + b
    loss = torch.nn.functional.binary_cross_entropy_with_logits(z, y)
    print(f"Gradient function for z = {z.grad_fn}"[:34])
    print(f"Gradient function for loss = {loss.grad_fn}"[:60])
    loss.backward()
    log(w.grad, b.grad)
    z = torch.matmul(x, w) + b
    log(z.requires_grad)
    with torch.no_grad():
        z = torch.matmul(x, w) + b
    log(z.requires_grad)
    z = torch.matmul(x, w) + b
    z_det = z.detach()
    log(z_det.requires_grad)
    inp = torch.eye(4, 5, requires_grad=True)
    out = (inp + 1).pow(2).t()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"First call\n{inp.grad}")
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"\nSecond call\n{inp.grad}")
    inp.grad.zero_()
    out.backward(torch.ones_like(out), retain_graph=True)
    print(f"\nCall after zeroing gradients\n{inp.grad}")
    _err(log, lambda: out.backward())
    print(type(z.grad_fn).__name__, z.grad_fn.next_functions[0][0].__class__.__name__)


@program(tol=1e-5)
def autograd_functional_jacobian_hessian(torch, log):
    AF = torch.autograd.functional

    def exp_reducer(x):
        return x.exp().sum(dim=1)

    inputs = torch.rand(2, 2)
    log(AF.jacobian(exp_reducer, inputs))
    log(AF.jacobian(exp_reducer, inputs, create_graph=True).requires_grad)

    def exp_adder(x, y):
        return 2 * x.exp() + 3 * y

    inputs = (torch.rand(2), torch.rand(2))
    log(AF.jacobian(exp_adder, inputs))
    log(AF.jacobian(exp_adder, inputs, vectorize=True))

    def pow_reducer(x):
        return x.pow(3).sum()

    inputs = torch.rand(2, 2)
    h = AF.hessian(pow_reducer, inputs)
    log(h.shape, h)

    def pow_adder_reducer(x, y):
        return (2 * x.pow(2) + 3 * y.pow(2)).sum()

    inputs = (torch.rand(2), torch.rand(2))
    log(AF.hessian(pow_adder_reducer, inputs))
    v = torch.ones(2, 2)
    log(AF.vjp(exp_reducer, torch.rand(2, 2), torch.ones(2)))
    log(AF.jvp(exp_reducer, torch.rand(2, 2), v))
    log(AF.hvp(pow_reducer, torch.rand(2, 2), v))
    log(AF.vhp(pow_reducer, torch.rand(2, 2), v))
    _err(log, lambda: AF.jacobian(lambda x: x, [torch.rand(2)], strategy="nope"))
    _err(log, lambda: AF.hessian(lambda x: x * 2, torch.rand(2)))
    _err(log, lambda: AF.vjp(exp_reducer, torch.rand(2, 2)))
    log(AF.jacobian(lambda x: torch.zeros(2), torch.rand(2)))
    _err(log, lambda: AF.jacobian(lambda x: torch.zeros(2), torch.rand(2), strict=True))


@program(tol=1e-5)
def nn_really_mnist_refactors(torch, log):
    nn, F = torch.nn, torch.nn.functional
    data = _module(torch, "utils.data")
    x_train = torch.rand(100, 784)
    y_train = torch.randint(0, 10, (100,))
    n, c = x_train.shape
    log(n, c, y_train.min(), y_train.max())
    weights = torch.randn(784, 10) / math.sqrt(784)
    weights.requires_grad_()
    bias = torch.zeros(10, requires_grad=True)

    def log_softmax(x):
        return x - x.exp().sum(-1).log().unsqueeze(-1)

    def model(xb):
        return log_softmax(xb @ weights + bias)

    bs = 64
    xb = x_train[0:bs]
    preds = model(xb)
    print(preds[0], preds.shape)

    def nll(input, target):
        return -input[range(target.shape[0]), target].mean()

    loss_func = nll
    yb = y_train[0:bs]
    print(loss_func(preds, yb))

    def accuracy(out, yb):
        preds = torch.argmax(out, dim=1)
        return (preds == yb).float().mean()

    print(accuracy(preds, yb))
    lr, epochs = 0.5, 2
    for epoch in range(epochs):
        for i in range((n - 1) // bs + 1):
            start_i = i * bs
            end_i = start_i + bs
            xb = x_train[start_i:end_i]
            yb = y_train[start_i:end_i]
            pred = model(xb)
            loss = loss_func(pred, yb)
            loss.backward()
            with torch.no_grad():
                weights -= weights.grad * lr
                bias -= bias.grad * lr
                weights.grad.zero_()
                bias.grad.zero_()
    print(loss_func(model(xb), yb), accuracy(model(xb), yb))
    log(F.cross_entropy(xb @ weights + bias, yb))

    class Mnist_Logistic(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(784, 10)

        def forward(self, xb):
            return self.lin(xb)

    class Lambda(nn.Module):
        def __init__(self, func):
            super().__init__()
            self.func = func

        def forward(self, x):
            return self.func(x)

    def get_data(train_ds, valid_ds, bs):
        return (data.DataLoader(train_ds, batch_size=bs, shuffle=True),
                data.DataLoader(valid_ds, batch_size=bs * 2))

    def loss_batch(model, loss_func, xb, yb, opt=None):
        loss = loss_func(model(xb), yb)
        if opt is not None:
            loss.backward()
            opt.step()
            opt.zero_grad()
        return loss.item(), len(xb)

    train_ds = data.TensorDataset(x_train, y_train)
    valid_ds = data.TensorDataset(x_train[:40], y_train[:40])
    train_dl, valid_dl = get_data(train_ds, valid_ds, bs)
    cnn = nn.Sequential(
        Lambda(lambda x: x.view(-1, 1, 28, 28)),
        nn.Conv2d(1, 4, kernel_size=3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(4, 4, kernel_size=3, stride=2, padding=1), nn.ReLU(),
        nn.AdaptiveAvgPool2d(1), Lambda(lambda x: x.view(x.size(0), -1)))
    print(cnn)
    for m in (Mnist_Logistic(), cnn):
        opt = torch.optim.SGD(m.parameters(), lr=0.1, momentum=0.9)
        for epoch in range(2):
            m.train()
            for xb, yb in train_dl:
                loss_batch(m, F.cross_entropy, xb, yb, opt)
            m.eval()
            with torch.no_grad():
                losses, nums = zip(*[loss_batch(m, F.cross_entropy, xb, yb)
                                     for xb, yb in valid_dl])
            val_loss = sum(l * k for l, k in zip(losses, nums)) / sum(nums)
            log(epoch, val_loss)


@program(tol=_TRAIN)
def optimization_tutorial_with_schedulers(torch, log):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3))
    X, y = torch.randn(40, 8), torch.randint(0, 3, (40,))
    loss_fn = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.SequentialLR(
        opt, [torch.optim.lr_scheduler.LinearLR(opt, start_factor=0.1, total_iters=3),
              torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=5)], milestones=[3])
    for epoch in range(8):
        for i in range(0, 40, 10):
            loss = loss_fn(model(X[i:i + 10]), y[i:i + 10])
            opt.zero_grad()
            loss.backward()
            opt.step()
        sched.step()
        log(epoch, loss.item(), sched.get_last_lr())
    opt2 = torch.optim.Adam(model.parameters(), lr=1e-2)
    plat = torch.optim.lr_scheduler.ReduceLROnPlateau(opt2, patience=1, factor=0.5)
    for epoch in range(6):
        loss = loss_fn(model(X), y)
        opt2.zero_grad()
        loss.backward()
        opt2.step()
        plat.step(1.0)
        log(opt2.param_groups[0]["lr"], plat.num_bad_epochs, plat.get_last_lr())
    oc = torch.optim.lr_scheduler.OneCycleLR(torch.optim.SGD(model.parameters(), lr=0.1),
                                             max_lr=1.0, total_steps=10)
    lrs = []
    for _ in range(10):
        oc.optimizer.step()
        oc.step()
        lrs.append(oc.get_last_lr()[0])
    log(lrs)
    print(sched.state_dict().keys())
    print(sorted(plat.state_dict()))


@program(tol=1e-6)
def save_load_models_and_checkpoints(torch, log):
    nn = torch.nn
    model = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    x = torch.randn(8, 4)
    model(x).sum().backward()
    opt.step()
    buf = io.BytesIO()
    torch.save({"epoch": 3, "model_state_dict": model.state_dict(),
                "optimizer_state_dict": opt.state_dict(), "loss": 0.25}, buf)
    buf.seek(0)
    ck = torch.load(buf, weights_only=True)
    log(sorted(ck), ck["epoch"], ck["loss"], list(ck["model_state_dict"]))
    m2 = nn.Sequential(nn.Linear(4, 3), nn.BatchNorm1d(3), nn.ReLU(), nn.Linear(3, 2))
    o2 = torch.optim.Adam(m2.parameters(), lr=1e-3)
    log(repr(m2.load_state_dict(ck["model_state_dict"])))
    o2.load_state_dict(ck["optimizer_state_dict"])
    log(o2.state_dict()["state"][0]["step"], o2.state_dict()["param_groups"])
    m2.eval()
    model.eval()
    log(torch.equal(m2(x), model(x)))
    buf = io.BytesIO()
    torch.save(model, buf)
    buf.seek(0)
    try:
        torch.load(buf, weights_only=True)
    except Exception as e:     # (the message names the class: torch's or ember's module)
        log(type(e).__name__, str(e).replace(torch.__name__ + ".nn.", "lib.nn."))
    buf.seek(0)
    log(type(torch.load(buf, weights_only=False)).__name__)
    sd = model.state_dict()
    del sd["3.bias"]
    r = m2.load_state_dict(sd, strict=False)
    log(r.missing_keys, r.unexpected_keys, str(r))
    sd["extra"] = torch.zeros(1)
    _err(log, lambda: m2.load_state_dict(sd))
    sd2 = model.state_dict()
    sd2["0.weight"] = torch.zeros(2, 2)
    _err(log, lambda: m2.load_state_dict(sd2))
    buf = io.BytesIO()
    torch.save([torch.arange(3), torch.arange(3)[1:]], buf)
    buf.seek(0)
    a, b = torch.load(buf)
    log(a, b, b.storage_offset(), a.untyped_storage().data_ptr() == b.untyped_storage().data_ptr())


@program(tol=_TRAIN)
def transfer_learning_freeze_backbone(torch, log):
    nn = torch.nn
    backbone = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(),
                             nn.AdaptiveAvgPool2d(1), nn.Flatten())
    model = nn.Sequential(backbone, nn.Linear(8, 5))
    for param in model.parameters():
        param.requires_grad = False
    num_ftrs = model[1].in_features
    model[1] = nn.Linear(num_ftrs, 2)
    log([n for n, p in model.named_parameters() if p.requires_grad])
    opt = torch.optim.SGD(filter(lambda p: p.requires_grad, model.parameters()), lr=0.01,
                          momentum=0.9)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    crit = nn.CrossEntropyLoss()
    x, y = torch.randn(6, 3, 8, 8), torch.tensor([0, 1, 0, 1, 1, 0])
    for epoch in range(4):
        model.train()
        opt.zero_grad()
        with torch.set_grad_enabled(True):
            out = model(x)
            _, preds = torch.max(out, 1)
            loss = crit(out, y)
            loss.backward()
            opt.step()
        sched.step()
        log(epoch, loss.item(), torch.sum(preds == y.data).double() / len(y), sched.get_last_lr())
    log(backbone[0].weight.grad, backbone[1].running_mean)
    model.eval()
    with torch.no_grad():
        log(model(x).argmax(1))
    backbone.requires_grad_(True)
    log(sum(p.numel() for p in model.parameters() if p.requires_grad))



@program(tol=_TRAIN)
def seq2seq_gru_attention_decoder(torch, log):
    nn, F = torch.nn, torch.nn.functional
    SOS, EOS, MAXLEN = 0, 1, 6

    class EncoderRNN(nn.Module):
        def __init__(self, input_size, hidden_size, dropout_p=0.1):
            super().__init__()
            self.embedding = nn.Embedding(input_size, hidden_size)
            self.gru = nn.GRU(hidden_size, hidden_size, batch_first=True)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, input):
            embedded = self.dropout(self.embedding(input))
            return self.gru(embedded)

    class BahdanauAttention(nn.Module):
        def __init__(self, hidden_size):
            super().__init__()
            self.Wa = nn.Linear(hidden_size, hidden_size)
            self.Ua = nn.Linear(hidden_size, hidden_size)
            self.Va = nn.Linear(hidden_size, 1)

        def forward(self, query, keys):
            scores = self.Va(torch.tanh(self.Wa(query) + self.Ua(keys)))
            scores = scores.squeeze(2).unsqueeze(1)
            weights = F.softmax(scores, dim=-1)
            return torch.bmm(weights, keys), weights

    class AttnDecoderRNN(nn.Module):
        def __init__(self, hidden_size, output_size, dropout_p=0.1):
            super().__init__()
            self.embedding = nn.Embedding(output_size, hidden_size)
            self.attention = BahdanauAttention(hidden_size)
            self.gru = nn.GRU(2 * hidden_size, hidden_size, batch_first=True)
            self.out = nn.Linear(hidden_size, output_size)
            self.dropout = nn.Dropout(dropout_p)

        def forward(self, encoder_outputs, encoder_hidden, target_tensor=None):
            batch_size = encoder_outputs.size(0)
            decoder_input = torch.empty(batch_size, 1, dtype=torch.long).fill_(SOS)
            decoder_hidden = encoder_hidden
            outs, attns = [], []
            for i in range(MAXLEN):
                out, decoder_hidden, attn = self.forward_step(decoder_input, decoder_hidden,
                                                              encoder_outputs)
                outs.append(out)
                attns.append(attn)
                if target_tensor is not None:
                    decoder_input = target_tensor[:, i].unsqueeze(1)
                else:
                    _, topi = out.topk(1)
                    decoder_input = topi.squeeze(-1).detach()
            outs = F.log_softmax(torch.cat(outs, dim=1), dim=-1)
            return outs, decoder_hidden, torch.cat(attns, dim=1)

        def forward_step(self, input, hidden, encoder_outputs):
            embedded = self.dropout(self.embedding(input))
            query = hidden.permute(1, 0, 2)
            context, attn_weights = self.attention(query, encoder_outputs)
            input_gru = torch.cat((embedded, context), dim=2)
            output, hidden = self.gru(input_gru, hidden)
            return self.out(output), hidden, attn_weights

    enc, dec = EncoderRNN(12, 16), AttnDecoderRNN(16, 10)
    eo = torch.optim.Adam(enc.parameters(), lr=1e-3)
    do = torch.optim.Adam(dec.parameters(), lr=1e-3)
    crit = nn.NLLLoss()
    src = torch.randint(2, 12, (4, MAXLEN))
    tgt = torch.randint(2, 10, (4, MAXLEN))
    tgt[:, -1] = EOS
    for epoch in range(3):
        eo.zero_grad()
        do.zero_grad()
        e_out, e_hid = enc(src)
        d_out, _, attn = dec(e_out, e_hid, tgt)
        loss = crit(d_out.view(-1, d_out.size(-1)), tgt.view(-1))
        loss.backward()
        eo.step()
        do.step()
        log(epoch, loss.item())
    enc.eval()
    dec.eval()
    with torch.no_grad():
        e_out, e_hid = enc(src[:1])
        d_out, d_hid, attn = dec(e_out, e_hid)
        _, topi = d_out.topk(1)
        log(topi.squeeze(), attn.shape, attn.sum(-1), d_hid.shape)


@program(tol=_TRAIN)
def char_rnn_name_classification(torch, log):
    nn = torch.nn
    import string
    all_letters = string.ascii_letters + " .,;'"
    n_letters = len(all_letters)

    def letterToIndex(letter):
        return all_letters.find(letter)

    def lineToTensor(line):
        tensor = torch.zeros(len(line), 1, n_letters)
        for li, letter in enumerate(line):
            tensor[li][0][letterToIndex(letter)] = 1
        return tensor

    print(lineToTensor("J").size(), lineToTensor("Jones").size())

    class RNN(nn.Module):
        def __init__(self, input_size, hidden_size, output_size):
            super().__init__()
            self.hidden_size = hidden_size
            self.i2h = nn.Linear(input_size, hidden_size)
            self.h2h = nn.Linear(hidden_size, hidden_size)
            self.h2o = nn.Linear(hidden_size, output_size)
            self.softmax = nn.LogSoftmax(dim=1)

        def forward(self, input, hidden):
            hidden = torch.nn.functional.tanh(self.i2h(input) + self.h2h(hidden))
            return self.softmax(self.h2o(hidden)), hidden

        def initHidden(self):
            return torch.zeros(1, self.hidden_size)

    categories = ["English", "French", "Greek"]
    names = [("Jones", 0), ("Dubois", 1), ("Papadopoulos", 2), ("Smith", 0), ("Laurent", 1)]
    rnn = RNN(n_letters, 24, len(categories))
    crit = nn.NLLLoss()
    lr = 0.005
    for it, (name, cat) in enumerate(names * 2):
        line_tensor = lineToTensor(name)
        category_tensor = torch.tensor([cat], dtype=torch.long)
        hidden = rnn.initHidden()
        rnn.zero_grad()
        for i in range(line_tensor.size()[0]):
            output, hidden = rnn(line_tensor[i], hidden)
        loss = crit(output, category_tensor)
        loss.backward()
        for p in rnn.parameters():
            p.data.add_(p.grad.data, alpha=-lr)
        top_n, top_i = output.topk(1)
        log(it, loss.item(), top_i[0].item(), top_n)
    m = nn.RNN(n_letters, 24)
    out, h = m(lineToTensor("Albert"))
    log(out.shape, h.shape, out[-1].sub(h[0]).abs().max())
    print(rnn)


@program(tol=_TRAIN)
def transformer_language_model(torch, log):
    nn = torch.nn

    class PositionalEncoding(nn.Module):
        def __init__(self, d_model, dropout=0.1, max_len=50):
            super().__init__()
            self.dropout = nn.Dropout(p=dropout)
            position = torch.arange(max_len).unsqueeze(1)
            div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
            pe = torch.zeros(max_len, 1, d_model)
            pe[:, 0, 0::2] = torch.sin(position * div_term)
            pe[:, 0, 1::2] = torch.cos(position * div_term)
            self.register_buffer("pe", pe)

        def forward(self, x):
            return self.dropout(x + self.pe[:x.size(0)])

    class TransformerModel(nn.Module):
        def __init__(self, ntoken, d_model, nhead, d_hid, nlayers, dropout=0.2):
            super().__init__()
            self.model_type = "Transformer"
            self.pos_encoder = PositionalEncoding(d_model, dropout)
            layers = nn.TransformerEncoderLayer(d_model, nhead, d_hid, dropout)
            self.transformer_encoder = nn.TransformerEncoder(layers, nlayers,
                                                             enable_nested_tensor=False)
            self.embedding = nn.Embedding(ntoken, d_model)
            self.d_model = d_model
            self.linear = nn.Linear(d_model, ntoken)
            initrange = 0.1
            self.embedding.weight.data.uniform_(-initrange, initrange)
            self.linear.bias.data.zero_()
            self.linear.weight.data.uniform_(-initrange, initrange)

        def forward(self, src, src_mask=None):
            src = self.embedding(src) * math.sqrt(self.d_model)
            src = self.pos_encoder(src)
            if src_mask is None:
                src_mask = nn.Transformer.generate_square_subsequent_mask(len(src))
            return self.linear(self.transformer_encoder(src, src_mask))

    def batchify(data, bsz):
        seq_len = data.size(0) // bsz
        data = data[:seq_len * bsz]
        return data.view(bsz, seq_len).t().contiguous()

    bptt = 5

    def get_batch(source, i):
        seq_len = min(bptt, len(source) - 1 - i)
        data = source[i:i + seq_len]
        target = source[i + 1:i + 1 + seq_len].reshape(-1)
        return data, target

    ntokens = 20
    train_data = batchify(torch.randint(0, ntokens, (83,)), 4)
    log(train_data.shape, train_data.stride())
    model = TransformerModel(ntokens, 16, 2, 32, 2, 0.2)
    log(nn.Transformer.generate_square_subsequent_mask(3))
    crit = nn.CrossEntropyLoss()
    opt = torch.optim.SGD(model.parameters(), lr=5.0)
    sched = torch.optim.lr_scheduler.StepLR(opt, 1.0, gamma=0.95)
    model.train()
    for batch, i in enumerate(range(0, train_data.size(0) - 1, bptt)):
        data, targets = get_batch(train_data, i)
        output = model(data)
        loss = crit(output.view(-1, ntokens), targets)
        opt.zero_grad()
        loss.backward()
        log(torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5))
        opt.step()
        log(batch, loss.item(), data.shape)
    sched.step()
    log(sched.get_last_lr())
    model.eval()
    with torch.no_grad():
        d, t = get_batch(train_data, 0)
        log(crit(model(d).view(-1, ntokens), t).item(), math.exp(crit(
            model(d).view(-1, ntokens), t).item()))


# ---- custom autograd Functions, double backward, checkpoint, hooks --------------------------

@program(tol=1e-6)
def custom_function_ctx_features(torch, log):
    Function = torch.autograd.Function
    once_differentiable = _module(torch, "autograd.function").once_differentiable

    class MulAdd(Function):
        @staticmethod
        def forward(ctx, x, y, alpha):
            ctx.save_for_backward(x, y)
            ctx.alpha = alpha
            return x * y + alpha

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            log("needs", ctx.needs_input_grad)
            gx = g * y if ctx.needs_input_grad[0] else None
            gy = g * x if ctx.needs_input_grad[1] else None
            return gx, gy, None

    class InplaceDouble(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.mark_dirty(x)
            return x.mul_(2)

        @staticmethod
        def backward(ctx, g):
            return 2 * g

    class SortWithIdx(Function):
        @staticmethod
        def forward(ctx, x):
            v, i = x.sort()
            ctx.mark_non_differentiable(i)
            ctx.save_for_backward(i)
            return v, i

        @staticmethod
        @once_differentiable
        def backward(ctx, gv, gi):
            i, = ctx.saved_tensors
            out = torch.zeros_like(gv)
            out.scatter_(0, i, gv)
            return out

    class NoMaterialize(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.set_materialize_grads(False)
            return x.clone(), x.clone()

        @staticmethod
        def backward(ctx, g1, g2):
            log("grads", g1 is None, g2 is None)
            return g1 if g1 is not None else g2

    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = torch.tensor([4.0, 5.0, 6.0])
    out = MulAdd.apply(x, y, 0.5)
    log(out, type(out.grad_fn).__name__)
    out.sum().backward()
    log(x.grad)
    a = x.detach().clone().requires_grad_()
    b = a.clone()
    c = InplaceDouble.apply(b)
    log(c is b, c._version if hasattr(c, "_version") else None, type(c.grad_fn).__name__)
    c.sum().backward()
    log(a.grad)
    _err(log, lambda: InplaceDouble.apply(a))
    v, i = SortWithIdx.apply(torch.tensor([3.0, 1.0, 2.0], requires_grad=True))
    log(v.requires_grad, i.requires_grad, i)
    w = v * torch.tensor([1.0, 10.0, 100.0])
    g, = torch.autograd.grad(w.sum(), v.grad_fn.next_functions[0][0].variable
                             if False else [v])
    log(g)
    z = torch.tensor([1.0, 2.0], requires_grad=True)
    o1, o2 = NoMaterialize.apply(z)
    o1.sum().backward()
    log(z.grad)
    q = torch.tensor([1.0, 2.0], requires_grad=True)
    s, _ = SortWithIdx.apply(q * q)
    gq, = torch.autograd.grad(s.sum(), q, create_graph=True)
    _err(log, lambda: gq.sum().backward())


@program(tol=1e-6)
def double_backward_gradient_penalty(torch, log):
    nn = torch.nn
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    y = (x ** 3).sum()
    g, = torch.autograd.grad(y, x, create_graph=True)
    log(g, g.requires_grad, type(g.grad_fn).__name__)
    g2, = torch.autograd.grad(g.sum(), x, create_graph=True)
    log(g2)
    g3, = torch.autograd.grad(g2.sum(), x)
    log(g3)
    D = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 1))
    real = torch.randn(5, 4, requires_grad=True)
    out = D(real)
    grad_out, = torch.autograd.grad(out, real, grad_outputs=torch.ones_like(out),
                                    create_graph=True, retain_graph=True)
    gp = ((grad_out.norm(2, dim=1) - 1) ** 2).mean()
    gp.backward()
    log(gp, D[0].weight.grad.shape, D[0].weight.grad.sum())
    for act in (nn.functional.softplus, nn.functional.elu, nn.functional.gelu,
                nn.functional.silu, torch.sigmoid, nn.functional.log_softmax):
        z = torch.linspace(-2, 2, 5, requires_grad=True)
        f = act(z, 0) if act is nn.functional.log_softmax else act(z)
        g1, = torch.autograd.grad(f.sum(), z, create_graph=True)
        h, = torch.autograd.grad(g1.sum(), z)
        log(h)
    w = torch.tensor(2.0, requires_grad=True)
    loss = w ** 2
    g, = torch.autograd.grad(loss, w)
    log(g.requires_grad)
    _err(log, lambda: torch.autograd.grad(g, w))
    m = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    inv = torch.linalg.inv(m)
    gi, = torch.autograd.grad(inv.sum(), m, create_graph=True)
    log(torch.autograd.grad(gi.sum(), m)[0])


@program(tol=1e-6)
def checkpoint_sequential_and_non_reentrant(torch, log):
    nn = torch.nn
    cp = _module(torch, "utils.checkpoint")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 8), nn.ReLU(), nn.Linear(8, 2))
    x = torch.randn(3, 4, requires_grad=True)
    out = cp.checkpoint_sequential(model, 2, x, use_reentrant=False)
    out.sum().backward()
    g1 = [p.grad.clone() for p in model.parameters()]
    xg1 = x.grad.clone()
    model.zero_grad()
    x.grad = None
    model(x).sum().backward()
    log(all(torch.allclose(a, p.grad) for a, p in zip(g1, model.parameters())),
        torch.allclose(xg1, x.grad))
    calls = []

    def f(a, b):
        calls.append(1)
        return (a * b).sin()

    a = torch.randn(3, requires_grad=True)
    b = torch.randn(3)
    y = cp.checkpoint(f, a, b, use_reentrant=False)
    log(len(calls))
    y.sum().backward()
    log(len(calls), a.grad)
    y = cp.checkpoint(f, a, b, use_reentrant=True)
    y.sum().backward()
    log(len(calls), a.grad, type(y.grad_fn).__name__)
    d = nn.Dropout(0.5)
    z = torch.ones(8, requires_grad=True)
    out = cp.checkpoint(d, z, use_reentrant=False)
    out.sum().backward()
    log(torch.equal(z.grad, out.detach() * 1.0))
    _err(log, lambda: cp.checkpoint(f, a, b, use_reentrant=False, bogus=1))
    _err(log, lambda: cp.checkpoint_sequential(model, 2, x, use_reentrant=False,
                                               preserve_rng_state=False) and "ok")


@program(tol=1e-6)
def tensor_and_module_hooks(torch, log):
    nn = torch.nn
    x = torch.tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x.register_hook(lambda g: g * 2)
    y = x * x
    y.retain_grad()
    hy = y.register_hook(lambda g: log("y hook", g) or None)
    y.sum().backward()
    log(x.grad, y.grad)
    h.remove()
    hy.remove()
    x.grad = None
    (x * x).sum().backward()
    log(x.grad)
    p = nn.Parameter(torch.ones(2))
    seen = []
    p.register_post_accumulate_grad_hook(lambda t: seen.append(t.grad.clone()))
    (p * 3).sum().backward()
    (p * 3).sum().backward()
    log(seen)
    lin = nn.Linear(3, 2)
    events = []

    def pre(mod, args):
        events.append(("pre", type(mod).__name__, len(args)))
        return (args[0] * 0 + 1,)

    def fwd(mod, args, out):
        events.append(("fwd", out.shape))
        return out * 10

    def pre_kw(mod, args, kwargs):
        events.append(("prekw", sorted(kwargs)))
        return args, kwargs

    def bwd(mod, gin, gout):
        events.append(("bwd", [g.shape if g is not None else None for g in gin],
                       [g.shape for g in gout]))

    def bwd_pre(mod, gout):
        events.append(("bwdpre", len(gout)))

    handles = [lin.register_forward_pre_hook(pre), lin.register_forward_hook(fwd),
               lin.register_forward_pre_hook(pre_kw, with_kwargs=True),
               lin.register_full_backward_hook(bwd),
               lin.register_full_backward_pre_hook(bwd_pre)]
    inp = torch.randn(4, 3, requires_grad=True)
    out = lin(inp)
    log(torch.allclose(out, 10 * (torch.ones(4, 3) @ lin.weight.T + lin.bias)))
    out.sum().backward()
    log(events)
    for hd in handles:
        hd.remove()
    events.clear()
    lin(inp)
    log(events, len(lin._forward_hooks), len(lin._forward_pre_hooks))
    acts = {}

    def save(name):
        def hook(m, i, o):
            acts[name] = o.detach()
        return hook

    net = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 1))
    for name, m in net.named_modules():
        if isinstance(m, nn.ReLU):
            m.register_forward_hook(save(name))
    net(torch.randn(2, 3))
    log(sorted(acts), acts["1"].shape)
    g = nn.modules.module.register_module_forward_hook(lambda m, i, o: events.append(
        type(m).__name__))
    net(torch.randn(2, 3))
    g.remove()
    log(events)
    _err(log, lambda: torch.ones(2).register_hook(lambda g: g))


test_program = PROGRAMS.test(_check)
