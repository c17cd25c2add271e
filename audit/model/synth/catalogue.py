"""What can hang on a service centre: official plaques, unauthorised signs, honours, shop signs.

The official plaques and the names the generator paints on them come from the generator's own vocabulary
(``vocabulary.toml`` beside this module), written apart from the rules file whose lexicon the name matcher
reads, so that scenes test the matcher instead of agreeing with it by construction.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

VOCABULARY_PATH = Path(__file__).resolve().parent / "vocabulary.toml"

# Village names. The two lists are disjoint; the held-out list is used only for evaluation scenes.
TRAIN_VILLAGES: tuple[str, ...] = (
    "王庄村",
    "李家村",
    "张湾村",
    "东坡村",
    "西河村",
    "南关村",
    "北岗村",
    "刘家营村",
    "陈家桥村",
    "杨柳村",
    "赵庄村",
    "黄土岭村",
    "周家坝村",
    "吴家堡村",
    "徐官屯村",
    "孙家岗村",
    "马鞍山村",
    "朱家湾村",
    "胡家店村",
    "郭家庄村",
    "何家寨村",
    "高庙村",
    "林场村",
    "罗家坪村",
    "梁家河村",
    "宋家沟村",
    "郑家台村",
    "谢家坊村",
    "韩村",
    "唐家铺村",
    "冯家营村",
    "于家屯村",
    "董家洼村",
    "萧家岭村",
    "程家冲村",
    "曹家坡村",
    "袁家山村",
    "邓家湾村",
    "许家庄村",
    "傅家桥村",
    "沈家浜村",
    "曾家垭村",
    "彭家坳村",
    "吕家集村",
    "苏家埠村",
    "卢家沟村",
    "蒋家堰村",
    "蔡家岗村",
    "贾家庄村",
    "丁家河村",
    "魏家寨村",
    "薛家湾村",
    "叶家塘村",
    "阎家店村",
    "余家畈村",
    "潘家岭村",
    "杜家坪村",
    "戴家墩村",
    "夏家桥村",
    "钟家铺村",
    "汪家圩村",
    "田家庄村",
    "任家岗村",
    "姜家堡村",
    "范家洼村",
    "方家冲村",
    "石门村",
    "青龙村",
    "白马村",
    "金鸡村",
    "红星村",
    "前进村",
    "太平村",
    "兴隆村",
    "永安村",
    "长乐村",
    "新华村",
    "和平村",
    "三合村",
    "四方村",
)
HELD_OUT_VILLAGES: tuple[str, ...] = (
    "上官庄村",
    "下洼子村",
    "柏树湾村",
    "桃源村",
    "杏花岭村",
    "龙泉村",
    "凤凰台村",
    "双河口村",
    "十里铺村",
    "九龙山村",
    "卧牛坡村",
    "荷塘村",
    "梨园村",
    "苇子沟村",
    "大槐树村",
    "小营盘村",
    "清水河村",
    "磨盘山村",
    "古城村",
    "官道口村",
    "五里墩村",
    "燕子窝村",
    "响水村",
    "葛家湾村",
    "尹家寨村",
)

UNAUTHORISED_TEMPLATES: tuple[str, ...] = (
    "{村}老年人协会",
    "{村}红白理事会",
    "{村}村民议事会",
    "{村}农技推广工作站",
    "{村}科普示范点",
    "{村}便民服务社",
    "{村}妇女之家",
    "{村}青年之家",
    "{村}职工之家",
    "{村}禁毒工作站",
    "{村}计生协会",
    "{村}关工委工作站",
    "{村}法律服务工作站",
    "{村}农民专业合作社示范点",
    "{村}老年人体育协会",
    "{村}道德评议会",
    "{村}乡贤理事会",
    "{村}电商服务站点",
    "{村}供销服务社",
    "{村}残疾人之家",
    "{村}儿童之家",
    "{村}调解工作站",
    "{村}志愿服务工作站",
    "{村}党员先锋示范点",
    "{村}农家书屋示范点",
    "{村}爱心理事会",
    "{村}文化协会",
    "{村}红十字服务站",
    "{村}科协工作站",
    "{村}邮政便民服务社",
)
HONOUR_TEXTS: tuple[str, ...] = (
    "文明村",
    "市级文明村",
    "县级文明村",
    "省级文明村镇",
    "民主法治示范村",
    "美丽乡村示范村",
    "先进基层党组织",
    "五好村党组织",
    "卫生村",
    "国家森林乡村",
    "星级党组织",
    "四星级党支部",
    "五星级党支部",
    "模范集体",
    "先进集体",
    "红旗党支部",
    "优秀村委会",
    "平安建设先进村",
    "乡村振兴示范村",
    "标兵党支部",
    "荣誉证书",
    "全国文明村镇",
    "美丽乡村",
    "乡村治理示范村",
)
HONOUR_ISSUERS: tuple[str, ...] = (
    "中共县委员会",
    "县人民政府",
    "市精神文明建设委员会",
    "中共镇委员会",
    "镇人民政府",
    "县委组织部",
)
HONOUR_YEARS: tuple[str, ...] = (
    "二〇一九年",
    "二〇二〇年",
    "二〇二一年",
    "二〇二二年",
    "二〇二三年",
    "二〇二四年",
)
ALLOWED_INTERNAL_SIGNS: tuple[str, ...] = (
    "党员活动室",
    "会议室",
    "档案室",
    "便民服务室",
    "图书阅览室",
    "服务指引",
    "办事指南",
    "服务大厅",
    "活动须知",
    "注意事项",
    "入党誓词",
    "党员权利",
    "党员义务",
    "发展党员流程",
    "党务公示",
    "安全警示",
)
# Texts of cloth banners, posters and shop signs (never labelled).
BANNER_TEXTS: tuple[str, ...] = (
    "不忘初心牢记使命",
    "乡村振兴共建美好家园",
    "移风易俗树文明新风",
    "扫黑除恶保平安",
    "防溺水安全教育",
    "热烈庆祝中国共产党成立",
    "创建文明城市人人参与",
    "垃圾分类从我做起",
    "全民参保惠及万家",
)
SHOP_TEXTS: tuple[str, ...] = (
    "便民超市",
    "农资经营部",
    "好又多便利店",
    "理发店",
    "五金建材",
    "移动营业厅",
    "快递驿站",
    "家常菜馆",
    "农家乐",
    "药店",
    "烟酒副食",
    "电动车维修",
    "中国福利彩票",
    "粮油店",
)


@dataclass(frozen=True)
class PlaqueSpec:
    """One official plaque as the generator paints it (``vocabulary.toml``).

    Attributes
    ----------
    id, name_zh, placement : str
        ASCII id, Chinese name, ``"external"`` or ``"internal"``.
    patterns : tuple of str
        Names with the ``{村}``, ``{核}`` and ``{镇}`` slots; the first is the usual form.
    text_colour : str or None
        Required text colour (None for identity signs).
    identity_sign : bool
        Identity signboard with its own design.
    """

    id: str
    name_zh: str
    placement: str
    patterns: tuple[str, ...]
    text_colour: str | None
    identity_sign: bool


@lru_cache(maxsize=4)
def load_catalogue(path: Path | None = None) -> tuple[tuple[PlaqueSpec, ...], tuple[str, ...]]:
    """The official plaques the generator paints, from its own vocabulary file (``vocabulary.toml`` beside this
    module, never the rules file the matcher reads), and the townships for the {镇} slot.

    Returns
    -------
    (plaques, townships)
    """
    try:
        with open(path or VOCABULARY_PATH, "rb") as fh:
            raw = tomllib.load(fh)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"generator vocabulary {path or VOCABULARY_PATH}: {exc}") from None
    specs = tuple(
        PlaqueSpec(
            id=p["id"],
            name_zh=p.get("name_zh", p["id"]),
            placement=p.get("placement", "external"),
            patterns=(p["first"], *p.get("names", ())),
            text_colour=p.get("text_colour"),
            identity_sign=bool(p.get("identity_sign", False)),
        )
        for p in raw["plaques"]
    )
    return specs, tuple(raw["townships"])


def fill(pattern: str, village: str, township: str = "城关镇") -> str:
    """Put the village name (and the township) into a pattern's {村}, {核} and {镇} slots."""
    core = village[:-1] if village.endswith("村") and len(village) > 2 else village
    return pattern.replace("{村}", village).replace("{核}", core).replace("{镇}", township)


def pick(rng: np.random.Generator, items: tuple[Any, ...] | list[Any]) -> Any:
    """Uniform choice that keeps Python types (``rng.choice`` would turn str into numpy.str_)."""
    return items[int(rng.integers(len(items)))]
