"""Wrong and alternative-correct submissions of assignment 3 (see grader.bank)."""
from grader.bank import Correct, Replace, Wrong

_LOAD_IN_GETITEM = '''        with Image.open(path) as file:
            pixels = np.array(file.convert("RGB"))
'''
_SORTED_CLASSES = "sorted(entry.name for entry in os.scandir(self.root) if entry.is_dir())"

BANK = [
    # Part 1: ImageFolderDataset
    Wrong("eager_image_loading",
          "reads every image into a list in __init__ so that __getitem__ is fast",
          {"image_folder_dataset": [
              Replace("    def __len__(self):\n",
                      "        self.images = [np.array(Image.open(path).convert('RGB')) for path, _ in self.samples]\n\n"
                      "    def __len__(self):\n"),
              Replace(_LOAD_IN_GETITEM, "        pixels = self.images[index]\n")]},
          message="images read in __init__, not lazily in __getitem__",
          fails=("test_image_folder_dataset_hidden",)),
    Wrong("classes_in_listdir_order",
          "takes the class folders in the order os.scandir lists them, without sorting",
          {"image_folder_dataset": Replace(_SORTED_CLASSES,
                                           "[entry.name for entry in os.scandir(self.root) if entry.is_dir()]")},
          message="classes not sorted", fails=("test_image_folder_dataset_hidden",)),
    Wrong("files_in_listdir_order",
          "lists each class folder's files in os.listdir order, without sorting",
          {"image_folder_dataset": Replace("for file in sorted(os.listdir(self.root / name)):",
                                           "for file in os.listdir(self.root / name):")},
          message="samples not in the contract's order", fails=("test_image_folder_dataset_hidden",)),
    Wrong("file_in_root_as_class",
          "takes every entry of root as a class, so labels.csv becomes a class folder",
          {"image_folder_dataset": Replace(_SORTED_CLASSES, "sorted(os.listdir(self.root))")},
          message="taken as a class", fails=("test_image_folder_dataset", "test_image_folder_dataset_hidden")),
    Wrong("non_image_files_kept",
          "keeps every file of a class folder, notes.txt and .DS_Store included",
          {"image_folder_dataset": Replace("                if file.lower().endswith(IMG_EXTENSIONS):\n"
                                           "                    self.samples.append(",
                                           "                if True:\n"
                                           "                    self.samples.append(")},
          message="non-image files taken as samples", fails=("test_image_folder_dataset_hidden",)),
    Wrong("extension_case_sensitive",
          "matches the extensions case-sensitively, so photo.PNG is skipped",
          {"image_folder_dataset": Replace("file.lower().endswith(IMG_EXTENSIONS)", "file.endswith(IMG_EXTENSIONS)")},
          message="upper-case extensions skipped", fails=("test_image_folder_dataset_hidden",)),
    Wrong("len_counts_class_folders",
          "returns the number of classes from __len__",
          {"image_folder_dataset": Replace("        return len(self.samples)\n", "        return len(self.classes)\n")},
          message="__len__ counts the class folders",
          fails=("test_image_folder_dataset", "test_image_folder_dataset_hidden")),
    Wrong("hwc_not_permuted",
          "converts the PIL image to a tensor without moving the channels first",
          {"image_folder_dataset": Replace(".permute(2, 0, 1).float()", ".float()")},
          message="HWC image was not permuted to CHW",
          fails=("test_image_folder_dataset", "test_image_folder_dataset_hidden")),
    Wrong("reshape_instead_of_permute",
          "gets the (3, H, W) shape with reshape, which scrambles the pixels",
          {"image_folder_dataset": Replace(".permute(2, 0, 1).float()", ".reshape(3, *pixels.shape[:2]).float()")},
          message="reshape/view used instead of permute", fails=("test_image_folder_dataset_hidden",)),
    Wrong("pixels_not_scaled",
          "returns the 0..255 values as floats, forgetting to divide by 255",
          {"image_folder_dataset": Replace(".float() / 255", ".float()")},
          message="pixels not scaled to [0, 1]",
          fails=("test_image_folder_dataset", "test_image_folder_dataset_hidden")),
    Wrong("label_as_float",
          "returns the class index as a float",
          {"image_folder_dataset": Replace("return image, label", "return image, float(label)")},
          message="label returned as a float",
          fails=("test_image_folder_dataset", "test_image_folder_dataset_hidden")),
    Wrong("wraps_torchvision_imagefolder",
          "lets torchvision's ImageFolder scan the folders and keeps its lists",
          {"image_folder_dataset": '''import torchvision


class ImageFolderDataset(Dataset):
    def __init__(self, root, transform=None):
        folder = torchvision.datasets.ImageFolder(root)
        self.classes, self.class_to_idx, self.samples = folder.classes, folder.class_to_idx, folder.samples
        self.transform = transform

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, index):
        path, label = self.samples[index]
        with Image.open(path) as file:
            image = torch.from_numpy(np.array(file.convert("RGB"))).permute(2, 0, 1).float() / 255
        return (image if self.transform is None else self.transform(image)), label
'''},
          message="used torchvision's ImageFolder", fails=("test_image_folder_dataset_hidden",)),
    # Part 2: statistics
    Wrong("mean_of_batch_stds",
          "averages each batch's mean and std over the batches",
          {"channel_stats": '''def channel_stats(batches):
    means, stds = [], []
    for images, _ in batches:
        means.append(images.mean(dim=(0, 2, 3)))
        stds.append(images.std(dim=(0, 2, 3), correction=0))
    return torch.stack(means).mean(0), torch.stack(stds).mean(0)


def training_split_stats(root, batch_size=64):
    loader = DataLoader(ImageFolderDataset(Path(root) / "train"), batch_size=batch_size)
    return channel_stats(loader)
'''},
          message="averaged the per-batch", fails=("test_channel_stats_hidden",)),
    Wrong("stats_over_all_splits",
          "computes the normalisation statistics over train, valid and test together",
          {"channel_stats": Replace('DataLoader(ImageFolderDataset(Path(root) / "train"), batch_size=batch_size)',
                                    'DataLoader(torch.utils.data.ConcatDataset([ImageFolderDataset(Path(root) / s) '
                                    'for s in ("train", "valid", "test")]), batch_size=batch_size)')},
          message="statistics over every split", fails=("test_channel_stats_hidden",)),
    Wrong("unbiased_std",
          "divides the sum of squared deviations by N - 1",
          {"channel_stats": Replace("std = (total_sq / count - mean ** 2).clamp(min=0).sqrt()",
                                    "std = ((total_sq - count * mean ** 2) / (count - 1)).clamp(min=0).sqrt()")},
          message="unbiased std (divides by N - 1)", fails=("test_channel_stats", "test_channel_stats_hidden")),
    # Part 3: pad_collate
    Wrong("pads_on_the_left",
          "right-aligns the sequences, padding before them",
          {"pad_collate": Replace("padded[i, : len(sequence)] = sequence",
                                  "padded[i, padded.shape[1] - len(sequence):] = sequence")},
          message="padding on the left", fails=("test_pad_collate", "test_pad_collate_hidden")),
    Wrong("pad_value_ignored",
          "always pads with zeros",
          {"pad_collate": Replace("*sequences[0].shape[1:]), pad_value)", "*sequences[0].shape[1:]), 0)")},
          message="pad_value ignored", fails=("test_pad_collate_hidden",)),
    Wrong("sorts_batch_by_length",
          "sorts the batch longest first, as pack_padded_sequence likes it",
          {"pad_collate": Replace("    sequences = [sequence for sequence, _ in batch]\n",
                                  "    batch = sorted(batch, key=lambda sample: len(sample[0]), reverse=True)\n"
                                  "    sequences = [sequence for sequence, _ in batch]\n")},
          message="the batch was sorted by length", fails=("test_pad_collate_hidden",)),
    # Part 4: sampler weights
    Wrong("weights_per_class",
          "returns one inverse-frequency weight per class",
          {"sample_weights": Replace("return 1.0 / counts[labels].double()", "return 1.0 / counts.double()")},
          message="one weight per class", fails=("test_sample_weights", "test_sample_weights_hidden")),
    Wrong("weights_not_inverted",
          "weights each sample by the size of its class instead of its inverse",
          {"sample_weights": Replace("return 1.0 / counts[labels].double()", "return counts[labels].double()")},
          message="weights proportional to the class counts", fails=("test_sample_weights", "test_sample_weights_hidden")),
    # Part 5: ShardedStream
    Wrong("every_worker_whole_stream",
          "ignores get_worker_info, so every worker yields every record",
          {"sharded_stream": '''class ShardedStream(IterableDataset):
    def __init__(self, records):
        self.records = list(records)

    def __iter__(self):
        return iter(self.records)
'''},
          message="every worker yields the whole stream", fails=("test_sharded_stream", "test_sharded_stream_hidden")),
    Wrong("floor_division_shards",
          "gives each worker len // num_workers records, losing the remainder",
          {"sharded_stream": Replace("math.ceil(len(self.records) / info.num_workers)",
                                     "len(self.records) // info.num_workers")},
          message="gaps: records at the end are lost", fails=("test_sharded_stream_hidden",)),
    # Part 6: samplers
    Wrong("batch_sampler_drops_partial_batch",
          "slices the indices in steps of batch_size, stopping before an incomplete batch",
          {"samplers": Replace('''        batch = []
        for index in self.sampler:
            batch.append(index)
            if len(batch) == self.batch_size:
                yield batch
                batch = []
        if batch and not self.drop_last:
            yield batch
''', '''        indices = list(self.sampler)
        for start in range(0, len(indices) - self.batch_size + 1, self.batch_size):
            yield indices[start:start + self.batch_size]
''')},
          message="the last, partial batch is dropped even though drop_last is False",
          fails=("test_samplers", "test_samplers_hidden")),
    Wrong("permutation_drawn_once",
          "draws the random permutation once, in __init__",
          {"samplers": [Replace("        self.generator = generator\n",
                                "        self.generator = generator\n"
                                "        self.order = torch.randperm(n, generator=generator).tolist()\n"),
                        Replace("return iter(torch.randperm(self.n, generator=self.generator).tolist())",
                                "return iter(self.order)")]},
          message="the permutation is drawn once in __init__", fails=("test_samplers_hidden",)),
    # Part 7: collate
    Wrong("collate_with_cat",
          "joins the sample tensors with torch.cat",
          {"collate": Replace("return torch.stack(batch)", "return torch.cat(batch)")},
          message="torch.cat joins the samples", fails=("test_collate", "test_collate_hidden")),
    Wrong("floats_to_float32",
          "lets torch.tensor turn Python floats into float32",
          {"collate": Replace("return torch.tensor(batch, dtype=torch.float64)", "return torch.tensor(batch)")},
          message="floats collated to float32", fails=("test_collate_hidden",)),
    # Part 8: MiniDataLoader
    Wrong("batches_in_completion_order",
          "yields each batch as soon as any worker delivers it",
          {"mini_dataloader": [Replace("                while batch_number not in arrived:",
                                           "                while not arrived:"),
                                   Replace("                batch, error = arrived.pop(batch_number)",
                                           "                batch, error = arrived.pop(next(iter(arrived)))")]},
          message="batches yielded in the order the workers finish them", fails=("test_mini_dataloader_hidden",)),
    Wrong("num_workers_ignored",
          "never starts the worker pool",
          {"mini_dataloader": Replace("        if self.num_workers == 0:\n", "        if True:\n")},
          message="num_workers ignored", fails=("test_mini_dataloader_hidden",)),

    Correct("folder_dataset_with_pathlib_and_torchvision_io",
            "scans with pathlib (iterdir, suffix.lower()), decodes with torchvision.io, returns 0-d int64 labels",
            {"image_folder_dataset": '''import torchvision

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp"}


class ImageFolderDataset(Dataset):
    def __init__(self, root, transform=None):
        self.root = Path(root)
        self.transform = transform
        self.classes = sorted(p.name for p in self.root.iterdir() if p.is_dir())
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples = [(str(path), self.class_to_idx[c]) for c in self.classes
                        for path in sorted((self.root / c).iterdir())
                        if path.is_file() and path.suffix.lower() in IMAGE_SUFFIXES]

    def __len__(self):
        return len(self.samples)

    def __getitem__(self, i):
        path, label = self.samples[i]
        image = torchvision.io.decode_image(path, mode=torchvision.io.ImageReadMode.RGB)
        image = image.to(torch.float32) / 255.0
        if self.transform:
            image = self.transform(image)
        return image, torch.tensor(label)
'''}),
    Correct("stats_by_merging_batch_moments",
            "merges each batch's mean and sum of squared deviations (Chan et al.), in float64",
            {"channel_stats": '''def channel_stats(batches):
    n, mean, m2 = 0, None, None
    for images, _ in batches:
        x = images.double().transpose(0, 1).flatten(1)  # (C, pixels)
        b = x.shape[1]
        b_mean = x.mean(dim=1)
        b_m2 = ((x - b_mean[:, None]) ** 2).sum(dim=1)
        if mean is None:
            n, mean, m2 = b, b_mean, b_m2
            continue
        delta = b_mean - mean
        total = n + b
        mean = mean + delta * b / total
        m2 = m2 + b_m2 + delta ** 2 * n * b / total
        n = total
    return mean.float(), (m2 / n).sqrt().float()


def training_split_stats(root, batch_size=64):
    train = ImageFolderDataset(os.path.join(root, "train"))
    return channel_stats(DataLoader(train, batch_size=batch_size, shuffle=False))
'''}),
    Correct("pad_with_pad_sequence",
            "pads with torch.nn.utils.rnn.pad_sequence",
            {"pad_collate": '''from torch.nn.utils.rnn import pad_sequence


def pad_collate(batch, pad_value=0):
    sequences, labels = zip(*batch)
    lengths = torch.tensor([s.shape[0] for s in sequences])
    padded = pad_sequence(list(sequences), batch_first=True, padding_value=pad_value)
    return padded, lengths, torch.tensor(labels)
'''}),
    Correct("weights_from_unique_normalised",
            "counts with torch.unique(return_inverse=True) and normalises the weights to sum to 1",
            {"sample_weights": '''def balanced_sample_weights(labels):
    _, inverse, counts = torch.unique(labels, return_inverse=True, return_counts=True)
    weights = 1.0 / counts[inverse].float()
    return weights / weights.sum()
'''}),
    Correct("interleaved_shards",
            "gives worker k every num_workers-th record starting at k",
            {"sharded_stream": '''import itertools


class ShardedStream(IterableDataset):
    def __init__(self, records):
        self.records = records

    def __iter__(self):
        info = get_worker_info()
        worker, workers = (0, 1) if info is None else (info.id, info.num_workers)
        return itertools.islice(iter(self.records), worker, None, workers)
'''}),
    Correct("loader_with_pool_imap",
            "hands index lists to a multiprocessing Pool with imap, which keeps the order",
            {"mini_dataloader": '''import functools


def _make_batch(dataset, collate_fn, indices):
    return collate_fn([dataset[i] for i in indices])


class MiniDataLoader:
    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, drop_last=False,
                 collate_fn=None, num_workers=0, generator=None):
        if sampler is None:
            sampler = RandomSampler(len(dataset), generator) if shuffle else SequentialSampler(len(dataset))
        self.batches = BatchSampler(sampler, batch_size, drop_last)
        self.make_batch = functools.partial(_make_batch, dataset, collate_fn or collate)
        self.num_workers = num_workers

    def __len__(self):
        return len(self.batches)

    def __iter__(self):
        if not self.num_workers:
            yield from map(self.make_batch, self.batches)
            return
        with mp.get_context("fork").Pool(self.num_workers, torch.set_num_threads, (1,)) as pool:
            yield from pool.imap(self.make_batch, self.batches)
'''}),
]
