"""torch's type annotations of its modules' forward methods where they are all Tensor
(`def forward(self, input: Tensor) -> Tensor`): fx's code of a traced module and
inspect.signature show them. Set on ember's forward functions when ember.nn is imported."""

# annotated parameters (and 'return') -> the modules whose forward has them, as torch's
_TENSOR_ANNOTATIONS = {
    ("input", "return"): (
        "AdaptiveAvgPool1d AdaptiveAvgPool2d AdaptiveAvgPool3d AlphaDropout AvgPool1d AvgPool2d "
        "AvgPool3d BatchNorm1d BatchNorm2d BatchNorm3d CELU ChannelShuffle CircularPad1d "
        "CircularPad2d CircularPad3d ConstantPad1d ConstantPad2d ConstantPad3d Conv1d Conv2d "
        "Conv3d CrossMapLRN2d Dropout Dropout1d Dropout2d Dropout3d ELU Embedding "
        "FeatureAlphaDropout Flatten Fold GELU GLU GroupNorm Hardshrink Hardsigmoid Hardswish "
        "Hardtanh Identity InstanceNorm1d InstanceNorm2d InstanceNorm3d LPPool1d LPPool2d "
        "LPPool3d LayerNorm LazyBatchNorm1d LazyBatchNorm2d LazyBatchNorm3d LazyConv1d "
        "LazyConv2d LazyConv3d LazyInstanceNorm1d LazyInstanceNorm2d LazyInstanceNorm3d "
        "LazyLinear LeakyReLU Linear LocalResponseNorm LogSigmoid LogSoftmax Mish PReLU "
        "PixelShuffle PixelUnshuffle RReLU ReLU ReLU6 ReflectionPad1d ReflectionPad2d "
        "ReflectionPad3d ReplicationPad1d ReplicationPad2d ReplicationPad3d SELU SiLU Sigmoid "
        "Softmax Softmax2d Softmin Softplus Softshrink Softsign SyncBatchNorm Tanh Tanhshrink "
        "Threshold Unflatten Unfold Upsample UpsamplingBilinear2d UpsamplingNearest2d ZeroPad1d "
        "ZeroPad2d ZeroPad3d"),
    ("input",): (
        "AdaptiveMaxPool1d AdaptiveMaxPool2d AdaptiveMaxPool3d FractionalMaxPool2d "
        "FractionalMaxPool3d MaxPool1d MaxPool2d MaxPool3d"),
    ("input", "target", "return"): (
        "BCELoss BCEWithLogitsLoss CrossEntropyLoss HingeEmbeddingLoss HuberLoss KLDivLoss "
        "L1Loss LinearCrossEntropyLoss MSELoss MultiLabelMarginLoss MultiLabelSoftMarginLoss "
        "MultiMarginLoss NLLLoss NLLLoss2d SmoothL1Loss SoftMarginLoss"),
    ("input1", "input2", "return"): (
        "Bilinear"),
    ("log_probs", "targets", "input_lengths", "target_lengths", "return"): (
        "CTCLoss"),
    ("input1", "input2", "target", "return"): (
        "CosineEmbeddingLoss MarginRankingLoss"),
    ("x1", "x2", "return"): (
        "CosineSimilarity PairwiseDistance"),
    ("log_input", "target", "return"): (
        "PoissonNLLLoss"),
    ("x", "return"): (
        "RMSNorm"),
    ("anchor", "positive", "negative", "return"): (
        "TripletMarginLoss TripletMarginWithDistanceLoss"),
}


def annotate(namespace):
    """Give the forward methods of the modules in `namespace` (ember.nn.modules) torch's
    annotations."""
    from ..._tensor import Tensor
    for names, classes in _TENSOR_ANNOTATIONS.items():
        for name in classes.split():
            namespace[name].forward.__annotations__ = dict.fromkeys(names, Tensor)
