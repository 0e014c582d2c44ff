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
          message='compared with the same item of a dataset built after the change', fails=("test_image_folder_dataset_hidden",)),
    Wrong("classes_in_listdir_order",
          "takes the class folders in the order os.scandir lists them, without sorting",
          {"image_folder_dataset": Replace(_SORTED_CLASSES,
                                           "[entry.name for entry in os.scandir(self.root) if entry.is_dir()]")},
          message="dataset.classes of SHAPES / 'train': expected ['circle', 'cross', 'ring', 'square', 'triangle'], got", fails=("test_image_folder_dataset_hidden",)),
    Wrong("files_in_listdir_order",
          "lists each class folder's files in os.listdir order, without sorting",
          {"image_folder_dataset": Replace("for file in sorted(os.listdir(self.root / name)):",
                                           "for file in os.listdir(self.root / name):")},
          message="dataset.samples of SHAPES / 'train' (as 'class/file', label): expected 1000 samples, got 1000; the first difference", fails=("test_image_folder_dataset_hidden",)),
    Wrong("file_in_root_as_class",
          "takes every entry of root as a class, so labels.csv becomes a class folder",
          {"image_folder_dataset": Replace(_SORTED_CLASSES, "sorted(os.listdir(self.root))")},
          message="ImageFolderDataset(SHAPES / 'train') raised NotADirectoryError", fails=("test_image_folder_dataset", "test_image_folder_dataset_hidden")),
    Wrong("non_image_files_kept",
          "keeps every file of a class folder, notes.txt and .DS_Store included",
          {"image_folder_dataset": Replace("                if file.lower().endswith(IMG_EXTENSIONS):\n"
                                           "                    self.samples.append(",
                                           "                if True:\n"
                                           "                    self.samples.append(")},
          message="got ('ant/notes.txt', 1)", fails=("test_image_folder_dataset_hidden",)),
    Wrong("extension_case_sensitive",
          "matches the extensions case-sensitively, so photo.PNG is skipped",
          {"image_folder_dataset": Replace("file.lower().endswith(IMG_EXTENSIONS)", "file.endswith(IMG_EXTENSIONS)")},
          message='expected 15 samples, got 13', fails=("test_image_folder_dataset_hidden",)),
    Wrong("len_counts_class_folders",
          "returns the number of classes from __len__",
          {"image_folder_dataset": Replace("        return len(self.samples)\n", "        return len(self.classes)\n")},
          message='len(dataset) for 15 image files in 6 class folders: expected 15, got 6', fails=("test_image_folder_dataset", "test_image_folder_dataset_hidden")),
    Wrong("hwc_not_permuted",
          "converts the PIL image to a tensor without moving the channels first",
          {"image_folder_dataset": Replace(".permute(2, 0, 1).float()", ".float()")},
          message='image from dataset[0] shape: expected (3, 32, 32), got (32, 32, 3)', fails=("test_image_folder_dataset", "test_image_folder_dataset_hidden")),
    Wrong("reshape_instead_of_permute",
          "gets the (3, H, W) shape with reshape, which scrambles the pixels",
          {"image_folder_dataset": Replace(".permute(2, 0, 1).float()", ".reshape(3, *pixels.shape[:2]).float()")},
          message='largest difference 0.9255 at index (2, 3, 6)', fails=("test_image_folder_dataset_hidden",)),
    Wrong("pixels_not_scaled",
          "returns the 0..255 values as floats, forgetting to divide by 255",
          {"image_folder_dataset": Replace(".float() / 255", ".float()")},
          message='image values: expected them in [0, 1], got [0, 248]', fails=("test_image_folder_dataset", "test_image_folder_dataset_hidden")),
    Wrong("label_as_float",
          "returns the class index as a float",
          {"image_folder_dataset": Replace("return image, label", "return image, float(label)")},
          message='label from dataset[0]: expected an int, got 0.0', fails=("test_image_folder_dataset", "test_image_folder_dataset_hidden")),
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
    Wrong("opens_images_to_check_them",
          "opens every image in __init__ to skip unreadable files, which reads the whole dataset up front",
          {"image_folder_dataset": Replace("                    self.samples.append((self.root / name / file, self.class_to_idx[name]))",
                                           "                    Image.open(self.root / name / file).verify()\n"
                                           "                    self.samples.append((self.root / name / file, self.class_to_idx[name]))")},
          message='images opened with PIL.Image.open while ImageFolderDataset(root) was built: expected 0, got 15', fails=("test_image_folder_dataset_hidden",)),
    Wrong("classes_sorted_ignoring_case",
          "sorts the class folders case-insensitively (key=str.lower), so 'Zoo' no longer comes first",
          {"image_folder_dataset": Replace(_SORTED_CLASSES,
                                           "sorted((entry.name for entry in os.scandir(self.root) if entry.is_dir()), "
                                           "key=str.lower)")},
          message="got ['ant', 'bee', 'moth', 'owl', 'zebra', 'Zoo']", fails=("test_image_folder_dataset_hidden",)),
    Wrong("files_sorted_ignoring_case",
          "sorts each class's file names case-insensitively, so apple.jpg comes before Big.PNG",
          {"image_folder_dataset": Replace("for file in sorted(os.listdir(self.root / name)):",
                                           "for file in sorted(os.listdir(self.root / name), key=str.lower):")},
          message="expected 15 samples, got 15; the first difference is at position 4: expected ('ant/Big.PNG', 1)", fails=("test_image_folder_dataset_hidden",)),
    Wrong("transform_on_pil_image",
          "applies the transform to the PIL image, before the conversion to a tensor",
          {"image_folder_dataset": [
              Replace("        with Image.open(path) as file:\n            pixels = np.array(file.convert(\"RGB\"))\n",
                      "        with Image.open(path) as file:\n            picture = file.convert(\"RGB\")\n"
                      "        if self.transform is not None:\n            picture = self.transform(picture)\n"
                      "        pixels = np.array(picture)\n"),
              Replace("        if self.transform is not None:\n            image = self.transform(image)\n", "")]},
          message="'Image' object has no attribute 'flip'", fails=("test_image_folder_dataset_hidden",)),
    Wrong("pixels_divided_by_max",
          "scales each image by its own largest pixel instead of 255",
          {"image_folder_dataset": Replace(".float() / 255", ".float() / float(pixels.max())")},
          message='image from dataset[1] (ant/0001.png, a 6x10 file): values differ', fails=("test_image_folder_dataset_hidden",)),
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
    Wrong("stats_two_passes",
          "computes the means in a first pass and the deviations from them in a second pass over the batches",
          {"channel_stats": '''def channel_stats(batches):
    count, total = 0, 0.0
    for images, _ in batches:
        images = images.double()
        count += images.numel() // images.shape[1]
        total = total + images.sum(dim=(0, 2, 3))
    mean = total / count
    squares = 0.0
    for images, _ in batches:
        squares = squares + ((images.double() - mean.view(1, -1, 1, 1)) ** 2).sum(dim=(0, 2, 3))
    return mean.float(), (squares / count).sqrt().float()


def training_split_stats(root, batch_size=64):
    loader = DataLoader(ImageFolderDataset(Path(root) / "train"), batch_size=batch_size)
    return channel_stats(loader)
'''},
          message='channel_stats(a stream of batches that can be read once) raised AttributeError', fails=("test_channel_stats_hidden",)),
    Wrong("stats_float32_sums",
          "accumulates the sums in float32, the images' own dtype",
          {"channel_stats": Replace("        images = images.double()\n", "")},
          message='(std about 0.29): values differ', fails=("test_channel_stats_hidden",)),
    Wrong("stats_keep_every_batch",
          "concatenates every batch into one tensor and computes the statistics at the end",
          {"channel_stats": '''def channel_stats(batches):
    everything = torch.cat([images for images, _ in batches]).double()
    flat = everything.transpose(0, 1).flatten(1)
    return flat.mean(dim=1).float(), flat.std(dim=1, correction=0).float()


def training_split_stats(root, batch_size=64):
    loader = DataLoader(ImageFolderDataset(Path(root) / "train"), batch_size=batch_size)
    return channel_stats(loader)
'''},
          message='were read: expected [], got [0, 1, 2]', fails=("test_channel_stats_hidden",)),
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
    Wrong("pad_buffer_float",
          "builds the padded buffer with torch.full, whose default dtype is float32",
          {"pad_collate": Replace("padded = sequences[0].new_full((len(batch), int(lengths.max()), *sequences[0].shape[1:]), pad_value)",
                                  "padded = torch.full((len(batch), int(lengths.max()), *sequences[0].shape[1:]), float(pad_value))")},
          message='padded int64 token ids from a DataLoader with collate_fn=pad_collate dtype: expected torch.int64, got torch.float32', fails=("test_pad_collate_hidden",)),
    Wrong("lengths_as_list",
          "returns the lengths as a Python list",
          {"pad_collate": Replace("return padded, lengths, labels", "return padded, lengths.tolist(), labels")},
          message='lengths for sequences of lengths 2, 7, 0, 4, 7, 1: expected a Tensor, got a list', fails=("test_pad_collate", "test_pad_collate_hidden")),
    # Part 4: sampler weights
    Wrong("weights_per_class",
          "returns one inverse-frequency weight per class",
          {"sample_weights": Replace("return 1.0 / counts[labels].double()", "return 1.0 / counts.double()")},
          message='weights for 90 labels of classes 0, 3, 7 shape: expected (90,), got (8,)', fails=("test_sample_weights", "test_sample_weights_hidden")),
    Wrong("weights_not_inverted",
          "weights each sample by the size of its class instead of its inverse",
          {"sample_weights": Replace("return 1.0 / counts[labels].double()", "return counts[labels].double()")},
          message="weights proportional to the class counts", fails=("test_sample_weights", "test_sample_weights_hidden")),
    Wrong("unique_counts_indexed_by_label",
          "counts with torch.unique and indexes the counts by label, which assumes the classes are 0..C-1",
          {"sample_weights": Replace("    counts = torch.bincount(labels)\n",
                                     "    counts = torch.unique(labels, return_counts=True)[1]\n")},
          message='index 7 is out of bounds for dimension 0 with size 3', fails=("test_sample_weights_hidden",)),
    Wrong("labels_shifted_in_place",
          "shifts the labels to start at 0 with -=, which modifies the caller's tensor when no label is 0",
          {"sample_weights": Replace("    counts = torch.bincount(labels)\n",
                                     "    labels -= labels.min()\n    counts = torch.bincount(labels)\n")},
          message="balanced_sample_weights modified the labels it was given: [3, 7, 7, 3, 7] became [0, 4, 4, 0, 4]",
          fails=("test_sample_weights_hidden",)),
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
          message='from 2 records through a DataLoader with num_workers=3: expected [200, 201], got []', fails=("test_sharded_stream_hidden",)),
    Wrong("stream_iterated_once",
          "keeps an iterator over the records, so a second iteration yields nothing",
          {"sharded_stream": [Replace("        self.records = list(records)\n",
                                      "        self.records = list(records)\n        self.stream = iter(self.records)\n"),
                              Replace("            return iter(self.records)\n", "            return self.stream\n")]},
          message='list(ShardedStream(records)) a second time: expected [3, 1, 4, 1, 5, 9, 2, 6], got []', fails=("test_sharded_stream_hidden",)),
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
          message='got [[0, 1, 2], [3, 4, 5]]', fails=("test_samplers", "test_samplers_hidden")),
    Wrong("permutation_drawn_once",
          "draws the random permutation once, in __init__",
          {"samplers": [Replace("        self.generator = generator\n",
                                "        self.generator = generator\n"
                                "        self.order = torch.randperm(n, generator=generator).tolist()\n"),
                        Replace("return iter(torch.randperm(self.n, generator=self.generator).tolist())",
                                "return iter(self.order)")]},
          message='second epoch of RandomSampler(13): expected a new permutation', fails=("test_samplers_hidden",)),
    Wrong("batch_sampler_lists_sampler_once",
          "turns the sampler into a list in __init__, so every iteration repeats the first epoch's order",
          {"samplers": [Replace("        self.sampler = sampler\n", "        self.sampler = list(sampler)\n")]},
          message='BatchSampler must iterate its sampler anew each time', fails=("test_samplers_hidden",)),
    Wrong("batch_len_always_rounds_up",
          "computes len() with ceil whatever drop_last says",
          {"samplers": Replace("        if self.drop_last:\n            return len(self.sampler) // self.batch_size\n", "")},
          message='len(BatchSampler(a list of 10 indices, batch_size=4, drop_last=True)): expected 2, got 3', fails=("test_samplers_hidden",)),
    # Part 7: collate
    Wrong("collate_with_cat",
          "joins the sample tensors with torch.cat",
          {"collate": Replace("return torch.stack(batch)", "return torch.cat(batch)")},
          message="torch.cat joins the samples", fails=("test_collate", "test_collate_hidden")),
    Wrong("floats_to_float32",
          "lets torch.tensor turn Python floats into float32",
          {"collate": Replace("return torch.tensor(batch, dtype=torch.float64)", "return torch.tensor(batch)")},
          message='collate of floats dtype: expected torch.float64, got torch.float32', fails=("test_collate_hidden",)),
    Wrong("namedtuple_collated_to_list",
          "treats a namedtuple like any tuple and returns a list of fields",
          {"collate": Replace("    if isinstance(first, tuple) and hasattr(first, \"_fields\"):  # a namedtuple keeps its type\n"
                              "        return type(first)(*(collate(list(fields)) for fields in zip(*batch)))\n", "")},
          message='expected a _Sample, got a list', fails=("test_collate_hidden",)),
    # Part 8: MiniDataLoader
    Wrong("batches_in_completion_order",
          "yields each batch as soon as any worker delivers it",
          {"mini_dataloader": [Replace("                while number not in arrived:",
                                           "                while not arrived:"),
                                   Replace("                batch, error = arrived.pop(number)",
                                           "                batch, error = arrived.pop(next(iter(arrived)))")]},
          message="batches yielded in the order the workers finish them", fails=("test_mini_dataloader_hidden",)),
    Wrong("num_workers_ignored",
          "never starts the worker pool",
          {"mini_dataloader": Replace("        if self.num_workers == 0:\n", "        if True:\n")},
          message='worker processes running during an iteration with num_workers=3: expected 3, got 0', fails=("test_mini_dataloader_hidden",)),

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
    Wrong("persistent_workers_ignored",
          "stops the workers at the end of every iteration, persistent_workers=True or not",
          {"mini_dataloader": Replace("            if not self.persistent_workers:\n                self.close()",
                                      "            self.close()")},
          message="worker processes running after a first epoch with persistent_workers=True: expected 2, got 0", fails=("test_mini_dataloader", "test_mini_dataloader_hidden")),
    Wrong("workers_left_when_stopped_early",
          "stops the workers after the last batch only, not when the consumer stops early or an error is raised",
          {"mini_dataloader": [Replace("        try:\n            for _ in range(self.prefetch):", "        if True:\n            for _ in range(self.prefetch):"),
                               Replace("        finally:\n            if not self.persistent_workers:\n                self.close()",
                                       "        if not self.persistent_workers:\n            self.close()")]},
          message='worker processes left running after the consumer stopped after one batch (iterator.close()): expected 0, got 2', fails=("test_mini_dataloader_hidden",)),
    Wrong("worker_init_fn_ignored",
          "stores worker_init_fn but never calls it in the workers",
          {"mini_dataloader": Replace("    if worker_init_fn is not None:\n        worker_init_fn(worker_id)\n", "")},
          message='got [{-1}, {-1}, {-1}]', fails=("test_mini_dataloader_hidden",)),
    Wrong("worker_init_fn_per_batch",
          "calls worker_init_fn before every batch a worker makes instead of once when the worker starts",
          {"mini_dataloader": [Replace("    if worker_init_fn is not None:\n        worker_init_fn(worker_id)\n", ""),
                               Replace("        key, indices = task\n",
                                       "        key, indices = task\n"
                                       "        if worker_init_fn is not None:\n"
                                       "            worker_init_fn(worker_id)\n")]},
          message="expected one call per worker, not one per batch", fails=("test_mini_dataloader_hidden",)),
    Wrong("prefetch_per_worker",
          "keeps prefetch batches in flight per worker, as PyTorch's prefetch_factor does, instead of in all",
          {"mini_dataloader": Replace("            for _ in range(self.prefetch):\n                send_one()",
                                      "            for _ in range(self.prefetch * self.num_workers):\n                send_one()")},
          message='(prefetch=1, 20 batches in the epoch): expected 2, got 3', fails=("test_mini_dataloader_hidden",)),
    Wrong("worker_error_swallowed",
          "skips a batch whose worker failed and goes on with the next one",
          {"mini_dataloader": Replace("                if error is not None:\n                    raise RuntimeError(f\"a worker failed on batch {number}: {error}\")\n",
                                      "                if error is not None:\n                    number += 1\n                    send_one()\n                    continue\n")},
          message="expected a RuntimeError mentioning it in the main process, got no exception", fails=("test_mini_dataloader_hidden",)),
    Wrong("loader_with_pool_imap",
            "hands index lists to a multiprocessing Pool with imap, as lecture 3 first did: nothing bounds the batches in flight",
            {"mini_dataloader": '''import functools


def _make_batch(dataset, collate_fn, indices):
    return collate_fn([dataset[i] for i in indices])


class MiniDataLoader:
    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, drop_last=False,
                 collate_fn=None, num_workers=0, generator=None, prefetch=2, worker_init_fn=None,
                 persistent_workers=False):
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

    def close(self):
        pass
'''}, message='(prefetch=1, 20 batches in the epoch): expected 2, got 20', fails=("test_mini_dataloader_hidden",)),
    Correct("loader_with_pool_apply_async",
            "a multiprocessing Pool kept for persistent workers, worker ids handed out by a shared counter in the "
            "pool's initializer, a deque of apply_async results refilled one per yielded batch",
            {"mini_dataloader": '''import collections

_state = {}


def _init_worker(dataset, collate_fn, counter, worker_init_fn):
    torch.set_num_threads(1)
    with counter.get_lock():
        worker_id = counter.value
        counter.value += 1
    _state.update(dataset=dataset, collate_fn=collate_fn)
    if worker_init_fn is not None:
        worker_init_fn(worker_id)


def _make(indices):
    return _state["collate_fn"]([_state["dataset"][i] for i in indices])


class MiniDataLoader:
    def __init__(self, dataset, batch_size=1, shuffle=False, sampler=None, drop_last=False,
                 collate_fn=None, num_workers=0, generator=None, prefetch=2, worker_init_fn=None,
                 persistent_workers=False):
        if sampler is None:
            sampler = RandomSampler(len(dataset), generator) if shuffle else SequentialSampler(len(dataset))
        self.dataset, self.batches = dataset, BatchSampler(sampler, batch_size, drop_last)
        self.collate_fn = collate_fn or collate
        self.num_workers, self.prefetch = num_workers, prefetch
        self.worker_init_fn, self.persistent = worker_init_fn, persistent_workers
        self.pool = None

    def __len__(self):
        return len(self.batches)

    def close(self):
        if self.pool is not None:
            self.pool.terminate()
            self.pool.join()
            self.pool = None

    def __iter__(self):
        if self.num_workers == 0:
            for indices in self.batches:
                yield self.collate_fn([self.dataset[i] for i in indices])
            return
        if self.pool is None:
            context = mp.get_context("fork")
            self.pool = context.Pool(self.num_workers, _init_worker,
                                     (self.dataset, self.collate_fn, context.Value("i", 0), self.worker_init_fn))
        try:
            todo = iter(self.batches)
            pending = collections.deque(self.pool.apply_async(_make, (list(i),))
                                        for i in itertools.islice(todo, self.prefetch))
            while pending:
                try:
                    batch = pending.popleft().get(timeout=60)
                except Exception as error:
                    raise RuntimeError(f"a worker failed: {error}") from error
                for indices in itertools.islice(todo, 1):
                    pending.append(self.pool.apply_async(_make, (list(indices),)))
                yield batch
        finally:
            if not self.persistent:
                self.close()
'''}),
]
