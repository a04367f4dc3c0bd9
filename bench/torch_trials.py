#!/usr/bin/python3
"""The PyTorch peer of a fused sweep (bench/fuse.mjs): trains trials one after another in this
process on one thread, each the reference recipe (avg pooling) or the variant (max pooling,
batch normalisation after each convolution, dropout 0.5 after the hidden dense layers), with its
own seed and learning rate, one epoch of batch 64 on the first LIMIT training images, then its test
accuracy. The same data and steps as a sweep's trial; prints one line per trial.
Usage: torch_trials.py IDX_DIR LIMIT reference|variant SEED:LR [SEED:LR ...]"""
import gzip, os, struct, sys, time
import numpy as np, torch, torch.nn as nn, torch.optim as optim

def read_idx(path):
    op = gzip.open if path.endswith('.gz') else open
    with op(path, 'rb') as f:
        data = f.read()
    ndim = struct.unpack('>I', data[:4])[0] & 0xff
    dims = struct.unpack('>' + 'I' * ndim, data[4:4 + 4 * ndim])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)

def find(d, stem):
    for ext in ('', '.gz'):
        p = os.path.join(d, stem + ext)
        if os.path.exists(p):
            return p
    raise FileNotFoundError(stem)

class LeNet(nn.Module):
    def __init__(self, variant):
        super().__init__()
        pool = nn.MaxPool2d if variant else nn.AvgPool2d
        self.conv1 = nn.Conv2d(1, 6, 5, padding=2, bias=not variant); self.pool1 = pool(2, 2)
        self.conv2 = nn.Conv2d(6, 16, 5, bias=not variant); self.pool2 = pool(2, 2)
        self.bn1 = nn.BatchNorm2d(6) if variant else nn.Identity()
        self.bn2 = nn.BatchNorm2d(16) if variant else nn.Identity()
        self.fc1 = nn.Linear(400, 120); self.fc2 = nn.Linear(120, 84); self.fc3 = nn.Linear(84, 10)
        self.drop = nn.Dropout(0.5) if variant else nn.Identity()
    def forward(self, x):
        x = self.pool1(torch.relu(self.bn1(self.conv1(x)))); x = self.pool2(torch.relu(self.bn2(self.conv2(x))))
        x = x.view(-1, 400)
        x = self.drop(torch.relu(self.fc1(x))); x = self.drop(torch.relu(self.fc2(x)))
        return self.fc3(x)

def main():
    d, limit, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    torch.set_num_threads(1)
    norm = lambda a: ((torch.from_numpy(a.astype(np.float32) / 255.0) - 0.1307) / 0.3081).unsqueeze(1)
    xtr = norm(read_idx(find(d, 'train-images-idx3-ubyte'))[:limit]); ytr = torch.from_numpy(read_idx(find(d, 'train-labels-idx1-ubyte'))[:limit].astype(np.int64))
    xte = norm(read_idx(find(d, 't10k-images-idx3-ubyte'))); yte = torch.from_numpy(read_idx(find(d, 't10k-labels-idx1-ubyte')).astype(np.int64))
    for trial in sys.argv[4:]:
        seed, lr = trial.split(':')
        torch.manual_seed(int(seed))
        model = LeNet(kind == 'variant'); crit = nn.CrossEntropyLoss(); opt = optim.Adam(model.parameters(), lr=float(lr))
        model.train(); perm = torch.randperm(len(xtr)); t0 = time.perf_counter()
        for i in range(0, len(xtr), 64):
            idx = perm[i:i + 64]
            opt.zero_grad(); loss = crit(model(xtr[idx]), ytr[idx]); loss.backward(); opt.step()
        dt = time.perf_counter() - t0
        model.eval()
        with torch.no_grad():
            acc = sum((model(xte[i:i + 1000]).argmax(1) == yte[i:i + 1000]).sum().item() for i in range(0, len(xte), 1000)) / len(xte)
        print(f'trial {seed}:{lr}: train {len(xtr)/dt:.0f} img/s ({dt:.1f}s) test acc {acc*100:.2f}%', flush=True)

if __name__ == '__main__':
    main()
