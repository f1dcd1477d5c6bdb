"""Tiny configurations of every keras-hub backbone and task class (keras-hub 0.32): seconds per check on a CPU.

Data only.  ``BACKBONES[name]`` are the constructor arguments of
``keras_hub.models.<name>``: one or two layers, hidden sizes around 16,
vocabularies of 100, images of 32x32 where the architecture allows.
A value ``{"__class__": C, "kwargs": {...}}`` is built first: ``C`` is a
``keras_hub.models`` name or the dotted path of a class inside
``keras_hub.src`` (sub-models keras-hub does not export; private, so they
may move between versions: the coverage test says when).
``TASKS[name] = (backbone name, task arguments)``; a task is built as
``keras_hub.models.<name>(backbone=<tiny backbone>, preprocessor=None, **arguments)``.
``MODEL_INPUTS`` describes the inputs inference cannot size
(:mod:`~pytest_tfroundtrip.zoo.model_inputs`), keyed by backbone; tasks use
their backbone's unless they have their own entry (None: inferred).  ``NOT_CALLABLE`` names the classes keras-hub itself does
not let be called on their own, and why.

Each entry was built and called on inputs drawn from ``model.input``; some
architectures cannot be made tiny (noted beside them).

Example:
    >>> TASKS["BertTextClassifier"]
    ('BertBackbone', {'num_classes': 3})
"""

from typing import Any

BACKBONES: dict[str, dict[str, Any]] = {
    "AlbertBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "embedding_dim": 16, "hidden_dim": 16, "intermediate_dim": 32, "max_sequence_length": 32},
    "BartBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "max_sequence_length": 32},
    "BASNetBackbone": {"image_encoder": {"__class__": "ResNetBackbone", "kwargs": {"input_conv_filters": [64], "input_conv_kernel_sizes": [3], "stackwise_num_filters": [64, 8, 8, 8], "stackwise_num_blocks": [1, 1, 1, 1], "stackwise_num_strides": [1, 2, 2, 2], "block_type": "basic_block"}}, "num_classes": 1, "image_shape": (32, 32, 3), "projection_filters": 64},
    "BertBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "max_sequence_length": 32},
    "BLIP2Backbone": {"vision_encoder": {"__class__": "keras_hub.src.models.blip2.blip2_vision_encoder.BLIP2VisionEncoder", "kwargs": {"image_size": 32, "patch_size": 8, "num_layers": 1, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "use_patch_bias": True, "use_class_token": True, "use_mha_bias": True, "use_mlp_bias": True, "dropout_rate": 0.0, "layer_norm_epsilon": 1e-06, "initializer_range": 0.02}}, "qformer": {"__class__": "keras_hub.src.models.blip2.blip2_qformer.BLIP2QFormer", "kwargs": {"num_query_tokens": 2, "num_layers": 1, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "vision_dim": 16, "cross_attention_frequency": 1, "dropout": 0.0, "layer_norm_epsilon": 1e-06}}, "language_model": {"__class__": "keras_hub.src.models.blip2.blip2_custom_opt.BLIP2CustomOPT", "kwargs": {"vocabulary_size": 100, "num_layers": 1, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "num_query_tokens": 2, "dropout": 0.0, "max_sequence_length": 32, "qformer_hidden_dim": 16}}},
    "BloomBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32},
    "CLIPBackbone": {"vision_encoder": {"__class__": "CLIPVisionEncoder", "kwargs": {"patch_size": 8, "hidden_dim": 16, "num_layers": 2, "num_heads": 2, "intermediate_dim": 32, "image_shape": (32, 32, 3)}}, "text_encoder": {"__class__": "CLIPTextEncoder", "kwargs": {"vocabulary_size": 100, "embedding_dim": 16, "hidden_dim": 16, "num_layers": 2, "num_heads": 2, "intermediate_dim": 32, "max_sequence_length": 16}}, "projection_dim": 16},
    "CLIPTextEncoder": {"vocabulary_size": 100, "embedding_dim": 16, "hidden_dim": 16, "num_layers": 2, "num_heads": 2, "intermediate_dim": 32, "max_sequence_length": 16},
    "CLIPVisionEncoder": {"patch_size": 8, "hidden_dim": 16, "num_layers": 2, "num_heads": 2, "intermediate_dim": 32, "image_shape": (32, 32, 3)},
    "CSPNetBackbone": {"stem_filters": 8, "stem_kernel_size": 3, "stem_strides": 1, "stackwise_depth": [1, 1], "stackwise_strides": [2, 2], "stackwise_num_filters": [8, 16], "block_type": "dark_block", "stage_type": "dark", "image_shape": (32, 32, 3)},
    "DebertaV3Backbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "max_sequence_length": 32, "bucket_size": 16},
    "DeepLabV3Backbone": {"image_encoder": {"__class__": "ResNetBackbone", "kwargs": {"input_conv_filters": [64], "input_conv_kernel_sizes": [3], "stackwise_num_filters": [64, 16], "stackwise_num_blocks": [1, 1], "stackwise_num_strides": [1, 2], "block_type": "basic_block", "image_shape": (32, 32, 3)}}, "spatial_pyramid_pooling_key": "P3", "upsampling_size": 2, "dilation_rates": [1, 2], "low_level_feature_key": "P2", "projection_filters": 8, "image_shape": (32, 32, 3)},
    "DeiTBackbone": {"image_shape": (32, 32, 3), "patch_size": 8, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32},
    "DenseNetBackbone": {"stackwise_num_repeats": [1, 1, 1, 1], "growth_rate": 8, "image_shape": (32, 32, 3)},
    "DepthAnythingBackbone": {"image_encoder": {"__class__": "DINOV2Backbone", "kwargs": {"patch_size": 14, "num_layers": 4, "hidden_dim": 16, "num_heads": 2, "intermediate_dim": 32, "image_shape": (112, 112, 3), "apply_layernorm": True}}, "reassemble_factors": [4, 2, 1, 0.5], "neck_hidden_dims": [8, 8, 8, 8], "fusion_hidden_dim": 8, "head_hidden_dim": 8, "head_in_index": -1, "feature_keys": ["stage1", "stage2", "stage3", "stage4"]},
    "DFineBackbone": {"backbone": {"__class__": "HGNetV2Backbone", "kwargs": {"depths": [1, 1], "embedding_size": 8, "hidden_sizes": [16, 32], "stem_channels": [3, 8, 8], "hidden_act": "relu", "use_learnable_affine_block": False, "stackwise_stage_filters": [[8, 8, 16, 1, 1, 3], [16, 8, 32, 1, 1, 3]], "apply_downsample": [False, True], "use_lightweight_conv_block": [False, False], "image_shape": (32, 32, 3), "out_features": ["stage1", "stage2"]}}, "decoder_in_channels": [16, 16], "encoder_hidden_dim": 16, "num_labels": 3, "num_denoising": 0, "learn_initial_query": False, "num_queries": 10, "anchor_image_size": [32, 32], "feat_strides": [4, 8], "num_feature_levels": 2, "hidden_dim": 16, "encoder_in_channels": [16, 32], "encode_proj_layers": [1], "num_attention_heads": 2, "encoder_ffn_dim": 32, "num_encoder_layers": 1, "hidden_expansion": 0.34, "depth_multiplier": 0.5, "eval_idx": -1, "num_decoder_layers": 1, "decoder_attention_heads": 2, "decoder_ffn_dim": 32, "decoder_n_points": [2, 2], "lqe_hidden_dim": 8, "num_lqe_layers": 2, "image_shape": (32, 32, 3), "out_features": ["stage1", "stage2"], "seed": 0},
    "DINOV2Backbone": {"patch_size": 8, "num_layers": 2, "hidden_dim": 16, "num_heads": 2, "intermediate_dim": 32, "image_shape": (32, 32, 3), "position_embedding_shape": (32, 32, 3)},
    "DINOV3Backbone": {"patch_size": 8, "num_layers": 2, "hidden_dim": 16, "num_heads": 2, "intermediate_dim": 32, "image_shape": (32, 32, 3), "num_register_tokens": 1},
    "DistilBertBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "max_sequence_length": 32},
    "EdRecBackbone": {"vocab_size": 100, "num_layers_enc": 1, "num_layers_dec": 1, "hidden_dim": 16, "intermediate_dim": 32, "num_heads": 2},
    "EfficientNetBackbone": {"stackwise_kernel_sizes": [3, 3], "stackwise_num_repeats": [1, 1], "stackwise_input_filters": [8, 8], "stackwise_output_filters": [8, 16], "stackwise_expansion_ratios": [1, 2], "stackwise_squeeze_and_excite_ratios": [0.0, 0.25], "stackwise_strides": [1, 2], "stackwise_block_types": ["fused", "unfused"], "stackwise_width_coefficients": [1.0, 1.0], "stackwise_depth_coefficients": [1.0, 1.0], "num_features": 32, "input_shape": (32, 32, 3)},
    "ElectraBackbone": {"vocab_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "embedding_dim": 16, "intermediate_dim": 32, "max_sequence_length": 32},
    "ESM2Backbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "max_sequence_length": 32},
    "ESMBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "max_sequence_length": 32},
    "FalconBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_attention_heads": 2, "hidden_dim": 16, "intermediate_dim": 32},
    "FluxBackbone": {"input_channels": 16, "hidden_size": 32, "mlp_ratio": 2.0, "num_heads": 2, "depth": 1, "depth_single_blocks": 1, "axes_dim": [4, 6, 6], "theta": 10000, "use_bias": True, "guidance_embed": True, "image_shape": [16, 16], "text_shape": [8, 16], "image_ids_shape": [16, 3], "text_ids_shape": [8, 3], "y_shape": [16]},
    "FNetBackbone": {"vocabulary_size": 100, "num_layers": 2, "hidden_dim": 16, "intermediate_dim": 32, "max_sequence_length": 32},
    "Gemma3Backbone": {"vocabulary_size": 100, "image_size": 16, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "hidden_dim": 16, "intermediate_dim": 32, "head_dim": 8},
    "Gemma3nBackbone": {"text_vocab_size": 100, "text_hidden_size": 16, "num_hidden_layers": 1, "pad_token_id": 0, "num_attention_heads": 2, "num_key_value_heads": 1, "head_dim": 8, "intermediate_size": [32], "hidden_activation": "gelu_approximate", "layer_types": ["full_attention"], "sliding_window": 4, "rope_theta": 10000.0, "max_position_embeddings": 32, "vocab_size_per_layer_input": 100, "hidden_size_per_layer_input": 2, "altup_num_inputs": 2, "laurel_rank": 1},
    "Gemma4Backbone": {"vocabulary_size": 100, "image_size": 16, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "hidden_dim": 16, "intermediate_dim": 32, "head_dim": 8, "sliding_window_size": 16, "sliding_window_pattern": 2},
    "GemmaBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "hidden_dim": 16, "intermediate_dim": 32, "head_dim": 8},
    "GPT2Backbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "max_sequence_length": 32},
    "GPTNeoXBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "max_sequence_length": 32},
    "GptOssBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "hidden_dim": 16, "intermediate_dim": 32, "num_experts": 2, "top_k": 1, "head_dim": 8, "sliding_window": 16},
    "HGNetV2Backbone": {"depths": [1, 1], "embedding_size": 8, "hidden_sizes": [16, 32], "stem_channels": [3, 8, 8], "hidden_act": "relu", "use_learnable_affine_block": False, "stackwise_stage_filters": [[8, 8, 16, 1, 1, 3], [16, 8, 32, 1, 1, 3]], "apply_downsample": [False, True], "use_lightweight_conv_block": [False, False], "image_shape": (32, 32, 3)},
    "Llama3Backbone": {"vocabulary_size": 100, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "hidden_dim": 16, "intermediate_dim": 32},
    "LlamaBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "hidden_dim": 16, "intermediate_dim": 32},
    "MetaCLIP2Backbone": {"vision_encoder": {"__class__": "MetaCLIP2VisionEncoder", "kwargs": {"patch_size": 8, "hidden_dim": 16, "num_layers": 2, "num_heads": 2, "intermediate_dim": 32, "image_shape": (32, 32, 3)}}, "text_encoder": {"__class__": "MetaCLIP2TextEncoder", "kwargs": {"vocabulary_size": 100, "embedding_dim": 16, "hidden_dim": 16, "num_layers": 2, "num_heads": 2, "intermediate_dim": 32, "max_sequence_length": 16}}, "projection_dim": 16},
    "MetaCLIP2TextEncoder": {"vocabulary_size": 100, "embedding_dim": 16, "hidden_dim": 16, "num_layers": 2, "num_heads": 2, "intermediate_dim": 32, "max_sequence_length": 16},
    "MetaCLIP2VisionEncoder": {"patch_size": 8, "hidden_dim": 16, "num_layers": 2, "num_heads": 2, "intermediate_dim": 32, "image_shape": (32, 32, 3)},
    "MistralBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "hidden_dim": 16, "intermediate_dim": 32, "sliding_window": 16},
    "MiTBackbone": {"layerwise_depths": [1, 1], "num_layers": 2, "layerwise_num_heads": [1, 2], "layerwise_sr_ratios": [2, 1], "max_drop_path_rate": 0.0, "layerwise_patch_sizes": [7, 3], "layerwise_strides": [4, 2], "hidden_dims": [8, 16], "image_shape": (32, 32, 3)},
    "MixtralBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "hidden_dim": 16, "intermediate_dim": 32, "num_experts": 2, "top_k": 1, "sliding_window": 16},
    "MobileNetBackbone": {"stackwise_expansion": [[16], [32]], "stackwise_num_blocks": [1, 1], "stackwise_num_filters": [[8], [16]], "stackwise_kernel_size": [[3], [3]], "stackwise_num_strides": [[2], [2]], "stackwise_se_ratio": [[None], [0.25]], "stackwise_activation": [["relu"], ["hard_swish"]], "stackwise_padding": [[1], [1]], "output_num_filters": 32, "depthwise_filters": 8, "depthwise_stride": 1, "depthwise_residual": False, "last_layer_filter": 32, "input_num_filters": 8, "squeeze_and_excite": 0.5, "image_shape": (32, 32, 3)},
    "MobileNetV5Backbone": {"stackwise_block_types": [["er"], ["uir"]], "stackwise_num_blocks": [1, 1], "stackwise_num_filters": [[8], [16]], "stackwise_strides": [[2], [2]], "stackwise_act_layers": [["relu"], ["relu"]], "stackwise_exp_ratios": [[2.0], [2.0]], "stackwise_se_ratios": [[0.0], [0.0]], "stackwise_dw_kernel_sizes": [[0], [3]], "stackwise_dw_start_kernel_sizes": [[0], [0]], "stackwise_dw_end_kernel_sizes": [[0], [0]], "stackwise_exp_kernel_sizes": [[3], [0]], "stackwise_pw_kernel_sizes": [[1], [0]], "stackwise_num_heads": [[0], [0]], "stackwise_key_dims": [[0], [0]], "stackwise_value_dims": [[0], [0]], "stackwise_kv_strides": [[0], [0]], "stackwise_use_cpe": [[False], [False]], "use_msfa": False, "stem_size": 8, "num_features": 32, "image_shape": (32, 32, 3)},
    "MoonshineBackbone": {"vocabulary_size": 100, "filter_dim": 16, "encoder_num_layers": 1, "decoder_num_layers": 1, "hidden_dim": 16, "intermediate_dim": 32, "encoder_num_heads": 2, "decoder_num_heads": 2, "max_position_embeddings": 64},
    "OPTBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "max_sequence_length": 32},
    "PaliGemmaBackbone": {"vocabulary_size": 100, "image_size": 16, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "hidden_dim": 16, "intermediate_dim": 32, "head_dim": 8, "vit_patch_size": 4, "vit_num_heads": 2, "vit_hidden_dim": 16, "vit_num_layers": 1, "vit_intermediate_dim": 32},
    "PARSeqBackbone": {"image_encoder": {"__class__": "ViTBackbone", "kwargs": {"image_shape": (16, 32, 3), "patch_size": [4, 8], "num_layers": 1, "num_heads": 2, "hidden_dim": 16, "mlp_dim": 32, "use_class_token": False}}, "vocabulary_size": 20, "max_label_length": 8, "decoder_hidden_dim": 16, "num_decoder_layers": 1, "num_decoder_heads": 2, "decoder_mlp_dim": 32, "dropout_rate": 0.0, "attention_dropout": 0.0},
    "Phi3Backbone": {"vocabulary_size": 100, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "hidden_dim": 16, "intermediate_dim": 32, "max_sequence_length": 32, "pretraining_sequence_length": 32},
    "Qwen2Backbone": {"vocabulary_size": 100, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "hidden_dim": 16, "intermediate_dim": 32},
    "Qwen3_5Backbone": {"vocabulary_size": 100, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "head_dim": 8, "hidden_dim": 16, "intermediate_dim": 32, "layer_types": ["linear_attention", "full_attention"], "linear_num_key_heads": 2, "linear_num_value_heads": 2, "linear_key_head_dim": 8, "linear_value_head_dim": 8},
    "Qwen3_5MoeBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "head_dim": 8, "hidden_dim": 16, "moe_intermediate_dim": 16, "shared_expert_intermediate_size": 16, "num_experts": 2, "top_k": 1, "layer_types": ["linear_attention", "full_attention"], "linear_num_key_heads": 2, "linear_num_value_heads": 2, "linear_key_head_dim": 8, "linear_value_head_dim": 8},
    "Qwen3Backbone": {"vocabulary_size": 100, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "head_dim": 8, "hidden_dim": 16, "intermediate_dim": 32},
    "Qwen3MoeBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "hidden_dim": 16, "intermediate_dim": 32, "moe_intermediate_dim": 16, "num_experts": 2, "top_k": 1, "head_dim": 8},
    "QwenBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "hidden_dim": 16, "intermediate_dim": 32},
    "QwenMoeBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_query_heads": 2, "num_key_value_heads": 1, "hidden_dim": 16, "intermediate_dim": 32, "moe_intermediate_dim": 16, "shared_expert_intermediate_dim": 16, "num_experts": 2, "top_k": 1},
    "ResNetBackbone": {"input_conv_filters": [64], "input_conv_kernel_sizes": [3], "stackwise_num_filters": [64, 16], "stackwise_num_blocks": [1, 1], "stackwise_num_strides": [1, 2], "block_type": "basic_block", "image_shape": (32, 32, 3)},
    "RetinaNetBackbone": {"image_encoder": {"__class__": "ResNetBackbone", "kwargs": {"input_conv_filters": [64], "input_conv_kernel_sizes": [3], "stackwise_num_filters": [64, 8, 8, 8], "stackwise_num_blocks": [1, 1, 1, 1], "stackwise_num_strides": [1, 2, 2, 2], "block_type": "basic_block", "image_shape": (32, 32, 3)}}, "min_level": 3, "max_level": 4, "use_p5": False, "image_shape": (32, 32, 3)},
    "RobertaBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "max_sequence_length": 32},
    "RoformerV2Backbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "head_size": 8},
    "RWKV7Backbone": {"hidden_size": 16, "head_size": 8, "num_layers": 2, "vocabulary_size": 100, "intermediate_dim": 32, "gate_lora": 8, "mv_lora": 8, "aaa_lora": 8, "decay_lora": 8},
    "SAM3PromptableConceptBackbone": {"vision_encoder": {"__class__": "keras_hub.src.models.sam3.sam3_vision_encoder.SAM3VisionEncoder", "kwargs": {"image_shape": (56, 56, 3), "patch_size": 14, "num_layers": 2, "hidden_dim": 16, "intermediate_dim": 32, "num_heads": 2, "fpn_hidden_dim": 16, "fpn_scale_factors": [4.0, 2.0, 1.0, 0.5], "pretrain_image_shape": (28, 28, 3), "window_size": 2, "global_attn_indexes": [1]}}, "text_encoder": {"__class__": "keras_hub.src.models.sam3.sam3_text_encoder.SAM3TextEncoder", "kwargs": {"vocabulary_size": 100, "embedding_dim": 16, "hidden_dim": 16, "num_layers": 1, "num_heads": 2, "intermediate_dim": 32}}, "geometry_encoder": {"__class__": "keras_hub.src.models.sam3.sam3_geometry_encoder.SAM3GeometryEncoder", "kwargs": {"num_layers": 1, "hidden_dim": 16, "intermediate_dim": 32, "num_heads": 2, "roi_size": 7}}, "detr_encoder": {"__class__": "keras_hub.src.models.sam3.sam3_detr_encoder.SAM3DetrEncoder", "kwargs": {"num_layers": 1, "hidden_dim": 16, "intermediate_dim": 32, "num_heads": 2}}, "detr_decoder": {"__class__": "keras_hub.src.models.sam3.sam3_detr_decoder.SAM3DetrDecoder", "kwargs": {"image_shape": (56, 56, 3), "patch_size": 14, "num_layers": 1, "hidden_dim": 16, "intermediate_dim": 32, "num_heads": 2, "num_queries": 10}}, "mask_decoder": {"__class__": "keras_hub.src.models.sam3.sam3_mask_decoder.SAM3MaskDecoder", "kwargs": {"num_upsampling_stages": 3, "hidden_dim": 16, "num_heads": 2}}},
    "SAMBackbone": {"image_encoder": {"__class__": "ViTDetBackbone", "kwargs": {"image_shape": (32, 32, 3), "patch_size": 16, "hidden_size": 16, "num_layers": 2, "intermediate_dim": 32, "num_heads": 2, "global_attention_layer_indices": [1], "num_output_channels": 8, "window_size": 2}}, "prompt_encoder": {"__class__": "keras_hub.src.models.sam.sam_prompt_encoder.SAMPromptEncoder", "kwargs": {"hidden_size": 8, "image_embedding_size": [2, 2], "input_image_size": [32, 32], "mask_in_channels": 16}}, "mask_decoder": {"__class__": "keras_hub.src.models.sam.sam_mask_decoder.SAMMaskDecoder", "kwargs": {"num_layers": 1, "hidden_size": 8, "intermediate_dim": 16, "num_heads": 2, "embedding_dim": 8, "num_multimask_outputs": 3, "iou_head_depth": 2, "iou_head_hidden_dim": 8}}},
    "SegFormerBackbone": {"image_encoder": {"__class__": "MiTBackbone", "kwargs": {"layerwise_depths": [1, 1], "num_layers": 2, "layerwise_num_heads": [1, 2], "layerwise_sr_ratios": [2, 1], "max_drop_path_rate": 0.0, "layerwise_patch_sizes": [7, 3], "layerwise_strides": [4, 2], "hidden_dims": [8, 16], "image_shape": (32, 32, 3)}}, "projection_filters": 8},
    "SigLIPBackbone": {"vision_encoder": {"__class__": "SigLIPVisionEncoder", "kwargs": {"patch_size": 8, "hidden_dim": 16, "num_layers": 2, "num_heads": 2, "intermediate_dim": 32, "image_shape": (32, 32, 3)}}, "text_encoder": {"__class__": "SigLIPTextEncoder", "kwargs": {"vocabulary_size": 100, "embedding_dim": 16, "hidden_dim": 16, "num_layers": 2, "num_heads": 2, "intermediate_dim": 32, "max_sequence_length": 16}}},
    "SigLIPTextEncoder": {"vocabulary_size": 100, "embedding_dim": 16, "hidden_dim": 16, "num_layers": 2, "num_heads": 2, "intermediate_dim": 32, "max_sequence_length": 16},
    "SigLIPVisionEncoder": {"patch_size": 8, "hidden_dim": 16, "num_layers": 2, "num_heads": 2, "intermediate_dim": 32, "image_shape": (32, 32, 3)},
    "SmolLM3Backbone": {"vocabulary_size": 100, "hidden_dim": 16, "intermediate_dim": 32, "num_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1, "attention_bias": False, "attention_dropout": 0.0, "rope_layer_enabled_list": [True, True], "layer_types": ["attention", "attention"], "mlp_bias": False, "layer_norm_epsilon": 1e-05, "max_position_embeddings": 32, "rope_theta": 10000.0, "partial_rotary_factor": 1.0},
    "SmolLMBackbone": {"vocabulary_size": 100, "hidden_dim": 16, "intermediate_dim": 32, "num_layers": 2, "num_attention_heads": 2, "num_key_value_heads": 1, "attention_bias": False, "attention_dropout": 0.0, "rope_layer_enabled_list": [True, True], "layer_types": ["attention", "attention"], "mlp_bias": False, "layer_norm_epsilon": 1e-05, "max_position_embeddings": 32, "rope_theta": 10000.0, "partial_rotary_factor": 1.0},
    "StableDiffusion3Backbone": {"mmdit_patch_size": 2, "mmdit_hidden_dim": 32, "mmdit_num_layers": 1, "mmdit_num_heads": 2, "mmdit_position_size": 16, "mmdit_qk_norm": None, "mmdit_dual_attention_indices": None, "vae": {"__class__": "keras_hub.src.models.vae.vae_backbone.VAEBackbone", "kwargs": {"encoder_num_filters": [32, 32], "encoder_num_blocks": [1, 1], "decoder_num_filters": [32, 32], "decoder_num_blocks": [1, 1], "sampler_method": "mode"}}, "clip_l": {"__class__": "CLIPTextEncoder", "kwargs": {"vocabulary_size": 100, "embedding_dim": 16, "hidden_dim": 16, "num_layers": 2, "num_heads": 2, "intermediate_dim": 32, "intermediate_output_index": -2, "max_sequence_length": 16}}, "clip_g": {"__class__": "CLIPTextEncoder", "kwargs": {"vocabulary_size": 100, "embedding_dim": 32, "hidden_dim": 32, "num_layers": 2, "num_heads": 2, "intermediate_dim": 64, "intermediate_output_index": -2, "max_sequence_length": 16}}, "image_shape": (32, 32, 3)},
    "SwinTransformerBackbone": {"image_shape": (32, 32, 3), "embed_dim": 16, "depths": [1, 1], "num_heads": [2, 2], "window_size": 4, "patch_size": 4},
    "T5Backbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32},
    "T5Gemma2Backbone": {"vocabulary_size": 100, "encoder_hidden_dim": 16, "encoder_intermediate_dim": 32, "encoder_num_layers": 1, "encoder_num_attention_heads": 2, "encoder_num_key_value_heads": 1, "encoder_head_dim": 8, "encoder_layer_types": ["full_attention"], "decoder_hidden_dim": 16, "decoder_intermediate_dim": 32, "decoder_num_layers": 1, "decoder_num_attention_heads": 2, "decoder_num_key_value_heads": 1, "decoder_head_dim": 8, "decoder_layer_types": ["full_attention"], "sliding_window": 16},
    "T5GemmaBackbone": {"vocabulary_size": 100, "encoder_hidden_dim": 16, "encoder_intermediate_dim": 32, "encoder_num_layers": 1, "encoder_num_attention_heads": 2, "encoder_num_key_value_heads": 1, "encoder_head_dim": 8, "encoder_layer_types": ["full_attention"], "decoder_hidden_dim": 16, "decoder_intermediate_dim": 32, "decoder_num_layers": 1, "decoder_num_attention_heads": 2, "decoder_num_key_value_heads": 1, "decoder_head_dim": 8, "decoder_layer_types": ["full_attention"], "sliding_window": 16},
    "VGGBackbone": {"stackwise_num_repeats": [1, 1], "stackwise_num_filters": [8, 16], "image_shape": (32, 32, 3)},
    "VideoPrismBackbone": {"num_frames": 2, "patch_size": 8, "hidden_dim": 16, "intermediate_dim": 32, "num_heads": 2, "num_spatial_layers": 1, "num_temporal_layers": 1, "num_auxiliary_layers": 0, "image_shape": (32, 32, 3)},
    "ViTBackbone": {"image_shape": (32, 32, 3), "patch_size": 8, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "mlp_dim": 32},
    "ViTDetBackbone": {"image_shape": (32, 32, 3), "patch_size": 8, "hidden_size": 16, "num_layers": 2, "intermediate_dim": 32, "num_heads": 2, "global_attention_layer_indices": [1], "num_output_channels": 8, "window_size": 2},
    "WhisperBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "num_mels": 8, "max_encoder_sequence_length": 32, "max_decoder_sequence_length": 32},
    "XceptionBackbone": {"stackwise_conv_filters": [[8, 8], [16, 16]], "stackwise_pooling": [True, False], "image_shape": (32, 32, 3)},
    "XLMRobertaBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "max_sequence_length": 32},
    "XLNetBackbone": {"vocabulary_size": 100, "num_layers": 2, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32},
}

TASKS: dict[str, tuple[str, dict[str, Any]]] = {
    "AlbertClassifier": ("AlbertBackbone", {"num_classes": 3}),
    "AlbertMaskedLM": ("AlbertBackbone", {}),
    "AlbertTextClassifier": ("AlbertBackbone", {"num_classes": 3}),
    "BartSeq2SeqLM": ("BartBackbone", {}),
    "BASNetImageSegmenter": ("BASNetBackbone", {}),
    "BertClassifier": ("BertBackbone", {"num_classes": 3}),
    "BertMaskedLM": ("BertBackbone", {}),
    "BertTextClassifier": ("BertBackbone", {"num_classes": 3}),
    "BertTextEmbedder": ("BertBackbone", {}),
    "BLIP2CausalLM": ("BLIP2Backbone", {}),
    "BLIP2Seq2SeqLM": ("BLIP2Backbone", {}),
    "BloomCausalLM": ("BloomBackbone", {}),
    "CSPNetImageClassifier": ("CSPNetBackbone", {"num_classes": 3}),
    "DebertaV3Classifier": ("DebertaV3Backbone", {"num_classes": 3}),
    "DebertaV3MaskedLM": ("DebertaV3Backbone", {}),
    "DebertaV3TextClassifier": ("DebertaV3Backbone", {"num_classes": 3}),
    "DeepLabV3ImageSegmenter": ("DeepLabV3Backbone", {"num_classes": 3}),
    "DeiTImageClassifier": ("DeiTBackbone", {"num_classes": 3}),
    "DenseNetImageClassifier": ("DenseNetBackbone", {"num_classes": 3}),
    "DepthAnythingDepthEstimator": ("DepthAnythingBackbone", {"depth_estimation_type": "relative"}),
    "DFineObjectDetector": ("DFineBackbone", {"num_classes": 3}),
    "DistilBertClassifier": ("DistilBertBackbone", {"num_classes": 3}),
    "DistilBertMaskedLM": ("DistilBertBackbone", {}),
    "DistilBertTextClassifier": ("DistilBertBackbone", {"num_classes": 3}),
    "EdRecSeq2SeqLM": ("EdRecBackbone", {}),
    "EfficientNetImageClassifier": ("EfficientNetBackbone", {"num_classes": 3}),
    "ESM2MaskedPLM": ("ESMBackbone", {}),
    "ESMMaskedPLM": ("ESMBackbone", {}),
    "ESMProteinClassifier": ("ESMBackbone", {"num_classes": 3}),
    "FalconCausalLM": ("FalconBackbone", {}),
    "FluxTextToImage": ("FluxBackbone", {}),
    "FNetClassifier": ("FNetBackbone", {"num_classes": 3}),
    "FNetMaskedLM": ("FNetBackbone", {}),
    "FNetTextClassifier": ("FNetBackbone", {"num_classes": 3}),
    "Gemma3CausalLM": ("Gemma3Backbone", {}),
    "Gemma3nCausalLM": ("Gemma3nBackbone", {}),
    "Gemma3TextEmbedder": ("Gemma3Backbone", {}),
    "Gemma4CausalLM": ("Gemma4Backbone", {}),
    "GemmaCausalLM": ("GemmaBackbone", {}),
    "GPT2CausalLM": ("GPT2Backbone", {}),
    "GPTNeoXCausalLM": ("GPTNeoXBackbone", {}),
    "GptOssCausalLM": ("GptOssBackbone", {}),
    "HGNetV2ImageClassifier": ("HGNetV2Backbone", {"num_classes": 3}),
    "Llama3CausalLM": ("Llama3Backbone", {}),
    "LlamaCausalLM": ("LlamaBackbone", {}),
    "MistralCausalLM": ("MistralBackbone", {}),
    "MiTImageClassifier": ("MiTBackbone", {"num_classes": 3}),
    "MixtralCausalLM": ("MixtralBackbone", {}),
    "MobileNetImageClassifier": ("MobileNetBackbone", {"num_classes": 3}),
    "MobileNetV5ImageClassifier": ("MobileNetV5Backbone", {"num_classes": 3}),
    "MoonshineAudioToText": ("MoonshineBackbone", {}),
    "OPTCausalLM": ("OPTBackbone", {}),
    "PaliGemmaCausalLM": ("PaliGemmaBackbone", {}),
    "PARSeqCausalLM": ("PARSeqBackbone", {"preprocessor": {"__class__": "keras_hub.src.models.parseq.parseq_causal_lm_preprocessor.PARSeqCausalLMPreprocessor", "kwargs": {"tokenizer": {"__class__": "keras_hub.src.models.parseq.parseq_tokenizer.PARSeqTokenizer", "kwargs": {"max_label_length": 8}}}}}),
    "Phi3CausalLM": ("Phi3Backbone", {}),
    "Qwen2CausalLM": ("QwenBackbone", {}),
    "Qwen3_5CausalLM": ("Qwen3_5Backbone", {}),
    "Qwen3_5MoeCausalLM": ("Qwen3_5MoeBackbone", {}),
    "Qwen3CausalLM": ("Qwen3Backbone", {}),
    "Qwen3MoeCausalLM": ("Qwen3MoeBackbone", {}),
    "Qwen3TextEmbedder": ("Qwen3Backbone", {}),
    "QwenCausalLM": ("QwenBackbone", {}),
    "QwenMoeCausalLM": ("QwenMoeBackbone", {}),
    "ResNetImageClassifier": ("ResNetBackbone", {"num_classes": 3}),
    "RetinaNetObjectDetector": ("RetinaNetBackbone", {"num_classes": 3, "pre_logits_num_conv_layers": 1}),
    "RobertaClassifier": ("RobertaBackbone", {"num_classes": 3}),
    "RobertaMaskedLM": ("RobertaBackbone", {}),
    "RobertaTextClassifier": ("RobertaBackbone", {"num_classes": 3}),
    "RoformerV2MaskedLM": ("RoformerV2Backbone", {}),
    "RoformerV2TextClassifier": ("RoformerV2Backbone", {"num_classes": 3}),
    "RWKV7CausalLM": ("RWKV7Backbone", {}),
    "SAM3PromptableConceptImageSegmenter": ("SAM3PromptableConceptBackbone", {}),
    "SAMImageSegmenter": ("SAMBackbone", {}),
    "SegFormerImageSegmenter": ("SegFormerBackbone", {"num_classes": 3}),
    "SmolLM3CausalLM": ("SmolLM3Backbone", {}),
    "SmolLMCausalLM": ("SmolLM3Backbone", {}),
    "StableDiffusion3ImageToImage": ("StableDiffusion3Backbone", {}),
    "StableDiffusion3Inpaint": ("StableDiffusion3Backbone", {}),
    "StableDiffusion3TextToImage": ("StableDiffusion3Backbone", {}),
    "SwinTransformerImageClassifier": ("SwinTransformerBackbone", {"num_classes": 3}),
    "T5Gemma2Seq2SeqLM": ("T5Gemma2Backbone", {}),
    "T5GemmaSeq2SeqLM": ("T5GemmaBackbone", {}),
    "T5Seq2SeqLM": ("T5Backbone", {}),
    "VGGImageClassifier": ("VGGBackbone", {"num_classes": 3, "pooling_hidden_dim": 16}),
    "ViTImageClassifier": ("ViTBackbone", {"num_classes": 3}),
    "XceptionImageClassifier": ("XceptionBackbone", {"num_classes": 3}),
    "XLMRobertaClassifier": ("XLMRobertaBackbone", {"num_classes": 3}),
    "XLMRobertaMaskedLM": ("XLMRobertaBackbone", {}),
    "XLMRobertaTextClassifier": ("XLMRobertaBackbone", {"num_classes": 3}),
    "XLMRobertaTextEmbedder": ("XLMRobertaBackbone", {}),
}

# Tasks whose backbone is not the one in BACKBONES (BLIP2Seq2SeqLM needs a Flan-T5 language model).
TASK_BACKBONES: dict[str, dict[str, Any]] = {
    "BLIP2Seq2SeqLM": {"vision_encoder": {"__class__": "keras_hub.src.models.blip2.blip2_vision_encoder.BLIP2VisionEncoder", "kwargs": {"image_size": 32, "patch_size": 8, "num_layers": 1, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "use_patch_bias": True, "use_class_token": True, "use_mha_bias": True, "use_mlp_bias": True, "dropout_rate": 0.0, "layer_norm_epsilon": 1e-06, "initializer_range": 0.02}}, "qformer": {"__class__": "keras_hub.src.models.blip2.blip2_qformer.BLIP2QFormer", "kwargs": {"num_query_tokens": 2, "num_layers": 1, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "vision_dim": 16, "cross_attention_frequency": 1, "dropout": 0.0, "layer_norm_epsilon": 1e-06}}, "language_model": {"__class__": "keras_hub.src.models.blip2.blip2_flan_t5_lm.BLIP2FlanT5", "kwargs": {"vocabulary_size": 100, "num_layers": 1, "num_heads": 2, "hidden_dim": 16, "intermediate_dim": 32, "num_query_tokens": 2, "qformer_hidden_dim": 16, "key_value_dim": 8, "dropout": 0.0}}},
}

MODEL_INPUTS = {
    "BLIP2Backbone": {  # its OPT's position table (32 + 2 query tokens) is nested too deep for inference to find
        "token_ids": {"shape": [2, 16], "dtype": "int32", "range": [1, 99]},
        "padding_mask": {"shape": [2, 16], "dtype": "int32", "fill": "ones"},
    },
    "BLIP2Seq2SeqLM": None,  # a Flan-T5 language model, other input names: inferred
    "MoonshineBackbone": {
        "encoder_input_values": {"shape": [2, 1600, 1], "dtype": "float32", "range": [-1.0, 1.0]},  # 16 samples leave 0 after the strided stem
        "encoder_padding_mask": {"shape": [2, 1600], "dtype": "bool", "fill": "ones"},
    },
    "PARSeqBackbone": {  # the decoder takes exactly max_label_length tokens
        "token_ids": {"shape": [2, 8], "dtype": "int32", "range": [1, 19]},
        "padding_mask": {"shape": [2, 8], "dtype": "int32", "fill": "ones"},
    },
    "SAM3PromptableConceptBackbone": {
        "token_ids": {"shape": [2, 32], "dtype": "int32", "range": [1, 99]},
        "padding_mask": {"shape": [2, 32], "dtype": "int32", "fill": "ones"},
        "boxes": {"shape": [2, 1, 5], "dtype": "float32", "range": [0.1, 0.9]},
        "box_labels": {"shape": [2, 1], "dtype": "int32", "fill": "ones"},
    },
    "StableDiffusion3Backbone": {  # the scheduler reads sigma[step + 1]: fewer than 2 steps index past its table
        "num_steps": {"shape": [2], "dtype": "int32", "range": [2, 50]},
    },
    "SAMBackbone": {  # one point and one box prompt; no mask prompt (a zero-length axis)
        "points": {"shape": [2, 1, 2], "dtype": "float32", "range": [0.0, 32.0]},
        "labels": {"shape": [2, 1], "dtype": "float32", "fill": "ones"},
        "boxes": {"shape": [2, 1, 2, 2], "dtype": "float32", "range": [0.0, 32.0]},
        "masks": {"shape": [2, 0, 32, 32, 1], "dtype": "float32", "fill": "zeros"},
    },
}

NOT_CALLABLE = {
    "Gemma4AssistantCausalLM": "a draft model for speculative decoding: keras-hub raises NotImplementedError when it is called "
                               "on its own (it runs only inside target_model.generate(..., assistant_model=...))",
}
