
CHhAvVGS1DHFjwGM9€âÏª•šï:
À¨‰À¨ÿ ‰(0Z"	WORKGROUP(0!8@