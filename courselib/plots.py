"""Small plotting helpers that several units share."""
import matplotlib.pyplot as plt


def show(fig) -> None:
    """Display a finished figure exactly once, then close it.

    Returning a figure from a notebook cell can display it twice (once as the cell's value, once
    when the inline backend flushes open figures), which nbval then sees as a changed output.
    """
    fig.tight_layout()
    plt.show()
    plt.close(fig)


def plot_activation_stats(means: dict[str, list[float]], stds: dict[str, list[float]], title: str = "") -> None:
    """Two panels, one line per layer: the mean and the std of its output at each forward call."""
    fig, (ax_mean, ax_std) = plt.subplots(1, 2, figsize=(10, 3.5))
    for name in means:
        ax_mean.plot(means[name], label=name)
        ax_std.plot(stds[name], label=name)
    ax_mean.set(title="mean of layer output", xlabel="batch")
    ax_std.set(title="std of layer output", xlabel="batch")
    ax_std.legend(fontsize="small")
    if title:
        fig.suptitle(title)
    show(fig)
