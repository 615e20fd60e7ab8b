"""A seeded synthetic community of posts in 12 topics, in Chinese or English (bench/ helper).

Each post belongs to one topic and is written from word lists: a title and one to three
description sentences filled from templates with the topic's words, words every topic uses
(推荐, 分享, 避坑 ... / recommend, sharing, avoid ...), a brand (mostly the topic's own) and an
adjective. One word in six is borrowed from another topic, as real posts cross topics. Users keep
mostly (85 %) to one to three favourite topics; a tenth of the posts are never rated, so only the
content model can relate them. The English catalog is built the same way from English lists (a
control: the same topics, words an English encoder knows).

Texts drawn from fixed word lists suit a lexical encoder: figures measured on this catalog say
how well an encoder separates the topics of these texts, not how it reads real posts.

`write_catalog` writes the files a platform would import (items.csv, ratings.csv) and the topic
of every post (topics.csv: the answer key, which the recommender never reads); `read_catalog`
reads them back as Agora's canonical frames.
"""

from __future__ import annotations

import csv
import random
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from data import schemas as S

# Topic -> (its words, its brands), comma-separated.
ZH_TOPICS = {
    "美食": (
        "火锅,麻辣烫,烤肉,甜品,奶茶,小龙虾,牛肉面,寿司,探店,餐厅,食谱,红烧肉,蛋糕,烘焙,"
        "早餐,外卖,烧烤,饺子,米线,咖啡馆,下饭菜,家常菜,口味,食材,酱料,火候,鸡翅,面包",
        "星巴克,KFC,Costa,喜茶",
    ),
    "数码": (
        "手机,耳机,笔记本,平板,充电器,续航,芯片,屏幕,摄像头,拍照,系统,固件,键盘,鼠标,"
        "显卡,处理器,内存,快充,蓝牙,降噪,散热,开箱,跑分,接口,像素,配置",
        "iPhone,iPad,MacBook,AirPods,华为Mate,小米,USB-C,Android",
    ),
    "旅行": (
        "机票,酒店,民宿,景点,自驾,攻略,签证,行程,古镇,海边,雪山,露营,徒步,门票,高铁,"
        "路线,打卡,日落,海岛,签证,背包,导游,住宿,景区,风景,行李",
        "Airbnb,Vlog,Citywalk",
    ),
    "健身": (
        "减脂,增肌,深蹲,跑步,瑜伽,拉伸,核心,蛋白粉,卧推,燃脂,体脂,有氧,无氧,哑铃,腹肌,"
        "马拉松,训练,热身,心率,普拉提,体态,臀腿,跳绳,力量",
        "Keep,Nike,HIIT,Lululemon",
    ),
    "美妆": (
        "口红,粉底,眼影,防晒,护肤,面膜,精华,卸妆,底妆,色号,遮瑕,腮红,香水,敏感肌,保湿,"
        "美白,控油,毛孔,睫毛,眉笔,彩妆,妆容,水乳,试色",
        "Dior,YSL,雅诗兰黛,SK-II,MAC",
    ),
    "育儿": (
        "宝宝,孩子,奶粉,辅食,早教,绘本,幼儿园,亲子,尿不湿,睡眠,哄睡,疫苗,母乳,二胎,育儿,"
        "玩具,学步,辅导,作业,带娃,儿童,宝妈,月子,童装",
        "Babycare,乐高",
    ),
    "游戏": (
        "手游,副本,角色,抽卡,通关,装备,段位,排位,主机,剧情,开放世界,联机,皮肤,战队,电竞,"
        "攻速,技能,关卡,存档,玩家,操作,版本,英雄,氪金",
        "Steam,Switch,PS5,原神,王者荣耀,LOL",
    ),
    "汽车": (
        "新能源,电动车,油耗,续航,充电桩,试驾,提车,保养,轮胎,底盘,变速箱,发动机,自驾,车机,"
        "智驾,SUV,轿车,车型,落地价,二手车,保险,刹车,内饰,座椅",
        "Tesla,比亚迪,理想,Model Y,宝马,BBA",
    ),
    "宠物": (
        "猫咪,狗狗,猫粮,狗粮,铲屎官,驱虫,疫苗,绝育,猫砂,柯基,布偶,金毛,橘猫,宠物医院,遛狗,"
        "掉毛,洗澡,罐头,冻干,猫抓板,训狗,幼猫,狗窝,萌宠",
        "皇家,渴望",
    ),
    "电影": (
        "电影,影评,导演,演员,剧情,票房,悬疑,科幻,动画,预告,彩蛋,结局,配乐,镜头,主角,续集,"
        "经典,院线,纪录片,喜剧,爱情片,剧本,影院,台词",
        "IMAX,Netflix,漫威,DC",
    ),
    "家居": (
        "装修,收纳,沙发,床垫,窗帘,厨房,卫生间,软装,家具,灯具,瓷砖,衣柜,租房,改造,清洁,"
        "扫地机,空调,地板,墙面,北欧风,阳台,绿植,书桌,布置",
        "宜家,IKEA,戴森",
    ),
    "职场": (
        "面试,简历,加班,跳槽,升职,汇报,老板,同事,工资,年终奖,考证,副业,通勤,实习,offer,"
        "绩效,沟通,述职,职场,摸鱼,离职,裁员,转行,会议",
        "PPT,Excel,HR,KPI",
    ),
}
EN_TOPICS = {
    "food": (
        "hotpot,noodles,barbecue,dessert,bubble tea,crayfish,sushi,restaurant,recipe,"
        "braised pork,cake,baking,breakfast,takeout,dumplings,cafe,spicy,ingredients,sauce,"
        "chicken wings,bread,street food,brunch,ramen",
        "Starbucks,KFC,Costa",
    ),
    "tech": (
        "phone,earbuds,laptop,tablet,charger,battery life,chip,screen,camera,photos,firmware,"
        "keyboard,mouse,graphics card,processor,memory,fast charging,bluetooth,"
        "noise cancelling,cooling,unboxing,benchmark,port,pixels",
        "iPhone,iPad,MacBook,AirPods,Android",
    ),
    "travel": (
        "flights,hotel,guesthouse,sights,road trip,visa,itinerary,old town,beach,snow mountain,"
        "camping,hiking,tickets,train,route,sunset,island,backpack,tour guide,scenery,luggage,"
        "resort,cruise,passport",
        "Airbnb,Vlog,Booking",
    ),
    "fitness": (
        "fat loss,muscle gain,squats,running,yoga,stretching,core,protein powder,bench press,"
        "cardio,body fat,dumbbells,abs,marathon,training,warm-up,heart rate,pilates,posture,"
        "glutes,jump rope,strength,reps,gym",
        "Nike,HIIT,Lululemon",
    ),
    "beauty": (
        "lipstick,foundation,eyeshadow,sunscreen,skincare,face mask,serum,makeup remover,"
        "concealer,blush,perfume,sensitive skin,moisturizer,whitening,oil control,pores,mascara,"
        "eyebrow pencil,makeup look,toner,swatches,shade,primer,cleanser",
        "Dior,YSL,MAC,Estee Lauder",
    ),
    "parenting": (
        "baby,kids,formula,baby food,early education,picture books,kindergarten,toddler,diapers,"
        "sleep training,vaccines,breastfeeding,second child,toys,homework,nursery,stroller,"
        "tantrums,bedtime,daycare,newborn,mom,school,playground",
        "Pampers,LEGO",
    ),
    "gaming": (
        "mobile game,dungeon,character,gacha,boss fight,gear,rank,ranked match,console,"
        "storyline,open world,co-op,skins,esports,skills,levels,save file,players,controls,"
        "patch,heroes,loot,speedrun,quest",
        "Steam,Switch,PS5,LOL",
    ),
    "cars": (
        "electric car,fuel economy,range,charging station,test drive,maintenance,tires,chassis,"
        "gearbox,engine,infotainment,driver assist,SUV,sedan,price,used car,insurance,brakes,"
        "interior,seats,horsepower,hybrid,dealership,mileage",
        "Tesla,BMW,BYD,Model Y",
    ),
    "pets": (
        "cat,dog,cat food,dog food,deworming,vaccines,neutering,litter,corgi,ragdoll,"
        "golden retriever,vet,dog walking,shedding,bath,wet food,freeze-dried treats,"
        "scratching post,dog training,kitten,puppy,leash,pet bed,grooming",
        "Royal Canin,Orijen",
    ),
    "movies": (
        "movie,review,director,actor,plot,box office,thriller,sci-fi,animation,trailer,"
        "easter egg,ending,soundtrack,cinematography,lead role,sequel,classic,cinema,"
        "documentary,comedy,romance,screenplay,theater,dialogue",
        "IMAX,Netflix,Marvel,DC",
    ),
    "home": (
        "renovation,storage,sofa,mattress,curtains,kitchen,bathroom,decor,furniture,lighting,"
        "tiles,wardrobe,rental,makeover,cleaning,robot vacuum,air conditioner,flooring,walls,"
        "balcony,houseplants,desk,shelves,paint",
        "IKEA,Dyson",
    ),
    "career": (
        "interview,resume,overtime,job change,promotion,report,boss,coworkers,salary,bonus,"
        "certificate,side hustle,commute,internship,offer,performance review,communication,"
        "meeting,resignation,layoffs,career switch,manager,team,deadline",
        "PPT,Excel,HR,KPI",
    ),
}


@dataclass(frozen=True)
class Language:
    """The word lists and templates of one language's posts."""

    topics: dict[str, tuple[list[str], list[str]]]
    shared_words: list[str]  # words posts of every topic use
    titles: list[str]
    sentences: list[str]
    adjectives: list[str]
    sentence_gap: str  # between description sentences


def _language(
    topics: dict[str, tuple[str, str]], shared: str, titles: str, sentences: str, adjectives: str
) -> tuple[dict[str, tuple[list[str], list[str]]], list[str], list[str], list[str], list[str]]:
    words = {name: (own.split(","), brands.split(",")) for name, (own, brands) in topics.items()}
    return words, shared.split(","), titles.split("|"), sentences.split("|"), adjectives.split(",")


LANGUAGES = {
    "zh": Language(
        *_language(
            ZH_TOPICS,
            "推荐,分享,真的,体验,今天,超级,值得,性价比,新手,攻略,测评,合集,必看,干货,日常,"
            "避坑,种草,好用,一定,大家,终于,第一次,周末,记录,总结,建议,平价,入门,心得,教程",
            "{a}{b}分享｜{g}|{g}！{a}和{b}{g2}|{brand}{a}{g}，{b}太{adj}了|第一次{a}：{b}{g}|"
            "{a}｜{g2}{b}{g}|{adj}的{a}，{g}{b}|{brand} {a}{g2}|{a}{b}{c}{g}",
            "这次{g}{a}，{b}和{c}都很{adj}。|{brand}的{a}{g2}，{b}方面{adj}，{g}。|"
            "说说{a}和{b}的{g}，{c}需要注意。|{g}！{a}{b}{c}，{adj}到不行。|"
            "整理了{a}相关的{g2}，包括{b}、{c}。|很多人问{a}，其实{b}更{adj}，{g}。|"
            "{g2}：{a}+{b}，{brand}也可以。",
            "好,方便,划算,惊艳,实用,舒服,靠谱,意外,失望,满意,专业,简单",
        ),
        sentence_gap="",
    ),
    "en": Language(
        *_language(
            EN_TOPICS,
            "recommend,sharing,honestly,experience,today,super,worth it,value,beginner,guide,"
            "review,roundup,must see,tips,daily,avoid,favorite,useful,finally,first time,weekend,"
            "notes,summary,advice,budget,starter,lessons,tutorial",
            "{a} and {b}: {g}|{g}! {a} with {b}|{brand} {a} {g}, {b} was so {adj}|"
            "First time {a}: {b} {g}|{adj} {a}, {g} {b}|{brand} {a} {g2}|{a}, {b}, {c} {g}",
            "This time {g} {a}; {b} and {c} were both {adj}.|{brand} {a} {g2}, {b} is {adj}, {g}.|"
            "Talking about {a} and {b} {g}, watch out for {c}.|{g}! {a}, {b}, {c}, so {adj}.|"
            "Put together {a} {g2}, including {b} and {c}.|"
            "Many ask about {a}, but {b} is more {adj}, {g}.|{g2}: {a} + {b}, {brand} works too.",
            "good,handy,cheap,stunning,practical,comfy,reliable,surprising,disappointing,great,"
            "pro,simple",
        ),
        sentence_gap=" ",
    ),
}
BORROWED_SHARE = 1 / 6  # of a post's topic words, drawn from another topic
OWN_BRAND_SHARE = 0.7
FAVOURITE_SHARE = 0.85  # of a user's ratings, in their favourite topics
NEVER_RATED_SHARE = 0.1


class _Writer:
    """Fills templates for one post topic from a shared random stream."""

    def __init__(self, language: Language, rng: random.Random) -> None:
        self.language, self.rng = language, rng
        self.code = next(code for code, known in LANGUAGES.items() if known is language)
        self.names = list(language.topics)

    def _other_topic(self) -> tuple[list[str], list[str]]:
        return self.language.topics[self.names[self.rng.randrange(len(self.names))]]

    def _word(self, words: list[str]) -> str:
        if self.rng.random() < BORROWED_SHARE:
            return self.rng.choice(self._other_topic()[0])
        return self.rng.choice(words)

    def fill(self, template: str, topic: str) -> str:
        words, brands = self.language.topics[topic]
        rng, shared = self.rng, self.language.shared_words
        # Every slot is drawn, used or not, in this order: one seed, one catalog.
        a, b, c = self._word(words), self._word(words), self._word(words)
        g, g2, adj = rng.choice(shared), rng.choice(shared), rng.choice(self.language.adjectives)
        own = rng.random() < OWN_BRAND_SHARE
        brand = rng.choice(brands) if own else rng.choice(self._other_topic()[1])
        return template.format(a=a, b=b, c=c, g=g, g2=g2, adj=adj, brand=brand)


def write_catalog(
    language: str, folder: Path, n_items: int = 4000, n_users: int = 1500, seed: int = 0
) -> None:
    """items.csv (post_id, title, description), ratings.csv (uid, post_id, score, ts) and
    topics.csv (post_id, topic, never_rated, language) of a seeded community in `folder`."""
    rng = random.Random(seed)
    writer = _Writer(LANGUAGES[language], rng)
    _write_community(folder, rng, [writer] * n_items, writer.names, n_users)


def write_mixed_catalog(
    zh_share: float, folder: Path, n_items: int = 4000, n_users: int = 1500, seed: int = 0
) -> None:
    """`write_catalog` of a community whose posts are written in Chinese (`zh_share` of them,
    chosen at random) or English over the same 12 topics; users read both. Topics are named by
    their English names in topics.csv (`ZH_TO_EN` translates)."""
    if not 0.0 <= zh_share <= 1.0:
        raise ValueError(f"zh_share must be within [0, 1], got {zh_share}")
    rng = random.Random(seed)
    writers = {code: _Writer(LANGUAGES[code], rng) for code in ("zh", "en")}
    chinese = set(rng.sample(range(n_items), round(n_items * zh_share)))
    chosen = [writers["zh" if i in chinese else "en"] for i in range(n_items)]
    _write_community(folder, rng, chosen, writers["en"].names, n_users)


# The two languages' topics are listed in the same order: 美食 is food, 数码 tech, ...
ZH_TO_EN = dict(zip(ZH_TOPICS, EN_TOPICS, strict=True))


def _write_community(
    folder: Path, rng: random.Random, writers: list[_Writer], labels: list[str], n_users: int
) -> None:
    """Post i written by writers[i] (its topic drawn by index, named `labels[index]` in the
    answer key), then the users' ratings; one random stream, so one seed, one catalog."""
    n_items = len(writers)
    posts: list[tuple[str, str, str, int]] = []
    for i, writer in enumerate(writers):
        lang = writer.language
        topic = rng.randrange(len(writer.names))
        name = writer.names[topic]
        title = writer.fill(rng.choice(lang.titles), name)
        sentences = rng.randint(1, 3)
        description = lang.sentence_gap.join(
            writer.fill(rng.choice(lang.sentences), name) for _ in range(sentences)
        )
        posts.append((f"p{i:05d}", title, description, topic))
    never_rated = set(rng.sample(range(n_items), int(n_items * NEVER_RATED_SHARE)))
    rated = [i for i in range(n_items) if i not in never_rated]
    by_topic = {t: [i for i in rated if posts[i][3] == t] for t in range(len(labels))}
    ratings: list[tuple[str, str, int, int]] = []
    for u in range(n_users):
        favourites = rng.sample(range(len(labels)), rng.choice([1, 1, 2, 2, 3]))
        seen: set[int] = set()
        for _ in range(rng.randint(8, 40)):
            if rng.random() < FAVOURITE_SHARE:
                post = rng.choice(by_topic[rng.choice(favourites)])
            else:
                post = rng.choice(rated)
            if post in seen:
                continue
            seen.add(post)
            score, offset = rng.choice([3, 4, 4, 5, 5]), rng.randrange(10_000_000)
            ratings.append((f"u{u:05d}", posts[post][0], score, 1_700_000_000 + offset))
    folder.mkdir(parents=True, exist_ok=True)
    _write_csv(folder / "items.csv", ["post_id", "title", "description"], [p[:3] for p in posts])
    _write_csv(folder / "ratings.csv", ["uid", "post_id", "score", "ts"], ratings)
    answers = [
        (p[0], labels[p[3]], int(i in never_rated), writers[i].code) for i, p in enumerate(posts)
    ]
    _write_csv(folder / "topics.csv", ["post_id", "topic", "never_rated", "language"], answers)


def _write_csv(path: Path, header: list[str], rows: list[tuple[object, ...]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out).writerows([header, *rows])


@dataclass(frozen=True)
class Catalog:
    interactions: pd.DataFrame  # canonical columns (data.schemas)
    items: pd.DataFrame  # item_id, title, text
    topics: pd.Series  # post id -> topic
    never_rated: frozenset[str]
    languages: pd.Series  # post id -> "zh" or "en"


def read_catalog(folder: Path) -> Catalog:
    """The files of `write_catalog` as canonical frames, with the answer key beside them."""
    ratings = pd.read_csv(folder / "ratings.csv", dtype={"uid": str, "post_id": str})
    interactions = pd.DataFrame(
        {
            S.USER_ID: ratings["uid"],
            S.ITEM_ID: ratings["post_id"],
            S.RATING: ratings["score"].astype(float),
            S.TIMESTAMP: ratings["ts"].astype("int64"),
        }
    )
    posts = pd.read_csv(folder / "items.csv", dtype=str, keep_default_na=False)
    items = posts.rename(
        columns={"post_id": S.ITEM_ID, "title": S.TITLE, "description": S.ITEM_TEXT}
    )
    answers = pd.read_csv(folder / "topics.csv", dtype={"post_id": str, "topic": str})
    topics = pd.Series(answers["topic"].to_numpy(), index=answers["post_id"])
    never_rated = frozenset(answers.loc[answers["never_rated"] == 1, "post_id"])
    languages = pd.Series(answers["language"].to_numpy(), index=answers["post_id"])
    return Catalog(interactions, items, topics, never_rated, languages)
